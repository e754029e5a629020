#include "pg.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
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

PgCluster::PgCluster(Mode mode) {
  TempDir tmp("chargehub-pgstart");
  std::string env = mode == Mode::Durable ? "PG_DURABLE=1 " : "PG_DURABLE=0 ";
  std::string cmd = env + script() + " start 2>" + (tmp / "err").string();
  try {
    conninfo_ = run_capture(cmd);
  } catch (const std::exception&) {
    throw std::runtime_error("PostgreSQL for the tests could not be started (" + script() + " start): " +
                             read_file(tmp / "err"));
  }
  // A watchdog process stops the cluster when this process ends, even by a crash or SIGKILL: it waits
  // for the end of a pipe that only this process holds open.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::string sh = script();
  const char* argv[] = {"/bin/bash", sh.c_str(), "stop", conninfo_.c_str(), nullptr};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();   // not in the test's process group: a signal to the group must not stop the watchdog
    ::close(fds[1]);
    char c;
    while (::read(fds[0], &c, 1) != 0) {}   // EOF (or an error): our parent is gone
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0), ::dup2(null, 1), ::dup2(null, 2);
    ::execv("/bin/bash", const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(fds[0]);
  if (pid < 0) {
    ::close(fds[1]);
    std::system((script() + " stop '" + conninfo_ + "'").c_str());
    throw std::runtime_error("fork failed");
  }
  watchdog_fd_ = fds[1];
  watchdog_pid_ = pid;
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
  std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdb(conninfo_.c_str()), &PQfinish);
  if (PQstatus(c.get()) != CONNECTION_OK)
    throw std::runtime_error("cannot connect to the test PostgreSQL: " + std::string(PQerrorMessage(c.get())));
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), ("CREATE DATABASE " + name).c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    throw std::runtime_error("CREATE DATABASE " + name + " failed: " + PQerrorMessage(c.get()));
  return "postgresql:" + with_dbname(conninfo_, name);
}

std::string fresh_database_url() { return PgCluster::shared().fresh_database_url(); }

}  // namespace chargehub::testing
