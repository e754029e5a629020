#include "pg.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>

#include "testsupport.hpp"

namespace chargehub::testing {

namespace {

std::string script() { return source("scripts/pg-test-cluster.sh").string(); }

// The conninfo with dbname replaced (parsed, so any order and quoting of the original is kept right).
std::string with_dbname(const std::string& conninfo, const std::string& dbname) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    PQfreemem(err);
    throw std::runtime_error("CHARGEHUB_TEST_PG is not a valid libpq conninfo");
  }
  std::string out;
  for (auto* o = opts; o->keyword; ++o) {
    if (!o->val || !*o->val || std::string_view(o->keyword) == "dbname") continue;
    std::string v = o->val, q;
    for (char c : v) q += (c == '\'' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    out += std::string(o->keyword) + "='" + q + "' ";
  }
  PQconninfoFree(opts);
  return out + "dbname=" + dbname;
}

}  // namespace

// The cluster is started and stopped by a watchdog process, so that it is stopped when this process
// ends however it ends (a crash, SIGKILL from a test timeout), even while it is still starting: the
// watchdog starts it, reports its conninfo, then waits for the end of a pipe only this process holds
// open, and stops it.
PgCluster::PgCluster(Mode mode) {
  std::string sh = script();
  // The watchdog ignores SIGPIPE: if we die before reading its report, it must live on to stop the
  // cluster. 3>&-: the server it starts must not hold the report pipe open.
  const char* watchdog =
      "trap '' PIPE\n"
      "if out=$(\"$0\" start 2>&1 3>&-); then echo \"ok ${out##*$'\\n'}\" >&3; else echo \"$out\" >&3; exit 1; fi\n"
      "exec 3>&-\n"
      "cat >/dev/null\n"   // until our end of its stdin closes
      "exec \"$0\" stop \"${out##*$'\\n'}\"\n";
  const char* argv[] = {"/bin/bash", "-c", watchdog, sh.c_str(), nullptr};
  std::vector<const char*> envp;   // our environment with PG_DURABLE set, built before the fork
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).rfind("PG_DURABLE=", 0) != 0) envp.push_back(*e);
  envp.push_back(mode == Mode::Durable ? "PG_DURABLE=1" : "PG_DURABLE=0");
  envp.push_back(nullptr);
  int life[2], report[2];
  if (::pipe2(life, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {   // only async-signal-safe calls until exec
    ::setsid();     // out of the test's process group: a signal to the group must not reach it
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(life[0], 0), ::dup2(null, 1), ::dup2(null, 2), ::dup2(report[1], 3);
    ::execve("/bin/bash", const_cast<char* const*>(argv), const_cast<char* const*>(envp.data()));
    ::_exit(127);
  }
  ::close(life[0]);
  ::close(report[1]);
  if (pid < 0) {
    ::close(life[1]), ::close(report[0]);
    throw std::runtime_error("fork failed");
  }
  watchdog_fd_ = life[1];
  watchdog_pid_ = pid;
  char buf[512];
  for (ssize_t n; (n = ::read(report[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR);)
    if (n > 0) conninfo_.append(buf, static_cast<size_t>(n));
  ::close(report[0]);
  while (!conninfo_.empty() && conninfo_.back() == '\n') conninfo_.pop_back();
  if (conninfo_.rfind("ok ", 0) != 0) {
    ::close(watchdog_fd_);
    ::waitpid(watchdog_pid_, nullptr, 0);
    watchdog_fd_ = -1;
    throw std::runtime_error("PostgreSQL for the tests could not be started (" + sh + " start): " + conninfo_);
  }
  conninfo_.erase(0, 3);
}

PgCluster::~PgCluster() {
  if (watchdog_fd_ < 0) return;   // CHARGEHUB_TEST_PG's cluster belongs to whoever started it
  ::close(watchdog_fd_);          // the watchdog stops the cluster now; wait for it
  ::waitpid(watchdog_pid_, nullptr, 0);
}

PgCluster& PgCluster::shared() {
  // Never destroyed by static destruction order games: the watchdog stops the cluster at exit.
  static PgCluster* cluster = [] {
    const char* env = std::getenv("CHARGEHUB_TEST_PG");
    return env && *env ? new PgCluster(std::string(env)) : new PgCluster(Mode::Tests);
  }();
  return *cluster;
}

std::string PgCluster::fresh_database_url() {
  static std::atomic<int> counter{0};
  static const std::string salt = [] {
    std::random_device rd;
    return std::to_string(rd() % 1000000);
  }();
  // Unique across the processes sharing one cluster: pid, a random salt (pids are reused), a counter.
  std::string name = "t_" + std::to_string(::getpid()) + "_" + salt + "_" + std::to_string(++counter);
  admin("CREATE DATABASE " + name);
  if (watchdog_fd_ < 0) {
    // A shared cluster outlives this process: drop its databases at exit (each is a few MB on disk).
    static std::once_flag once;
    std::call_once(once, [] { std::atexit([] { PgCluster::shared().drop_databases(); }); });
    std::lock_guard lock(mu_);
    created_.push_back(name);
  }
  return "postgresql:" + with_dbname(conninfo_, name);
}

void PgCluster::admin(const std::string& sql) const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdb(conninfo_.c_str()), &PQfinish);
  if (PQstatus(c.get()) != CONNECTION_OK)
    throw std::runtime_error("cannot connect to the test PostgreSQL: " + std::string(PQerrorMessage(c.get())));
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    throw std::runtime_error(sql + " failed: " + PQerrorMessage(c.get()));
}

void PgCluster::drop_databases() {
  std::lock_guard lock(mu_);
  for (auto& name : created_) {
    try {
      admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (const std::exception&) {   // at exit: a database left behind goes with the cluster
    }
  }
  created_.clear();
}

std::string fresh_database_url() { return PgCluster::shared().fresh_database_url(); }

}  // namespace chargehub::testing
