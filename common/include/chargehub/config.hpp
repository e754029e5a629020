// One configuration file per program, in TOML, where every command-line flag can be set
// (docs/packages.md). Each program calls add_config_option() once its options are declared:
//
//   CLI::App app{"…"};
//   app.add_option("--broker", broker, "…");
//   auto* serve = app.add_subcommand("serve", "…");
//   serve->add_option("--db", db, "…");
//   chargehub::config::add_config_option(app);   // then app.parse(argc, argv) as before
//
// and `--config /etc/chargehub/core.toml` then reads, for example:
//
//   db = "/var/lib/chargehub/core.db"    # top level: the program's flags and those of the command run
//   [serve]                               # a section: only when that command runs (`[rollout.create]`)
//   broker = "tcp://127.0.0.1:1883"
//   trusted-proxy = ["10.0.0.1", "10.0.0.2"]
//   quiet = true                          # a flag
//
// Rules:
// - A key is a long flag without its leading "--" (a one-letter key is the short flag, a positional's
//   name sets the positional).
// - The command line wins: a flag given there is not taken from the file (a repeatable flag given on the
//   command line replaces the file's whole list).
// - A top-level key that is not the program's own flag applies to the command being run if it has that
//   flag, and is ignored by the others (so `db` serves `serve`, `migrate` and `account` alike). A key in
//   a `[command]` section applies only when that command runs.
// - A key that no command knows, a section that names no command, and `config`/`help` are refused
//   with an error naming the key and the file: a misspelt key never passes silently.
// - `--config` is accepted before or after the command (`chargehub-core serve --config FILE`).
// - Values are UTF-8 text as written; strings in "…" (TOML basic strings) or '…'.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace chargehub::config {

// Gives `app` the option `--config FILE` (FILE read when given; `default_file` is read when it exists
// and no --config is given, empty for none). Call after every option and subcommand is declared.
CLI::Option* add_config_option(CLI::App& app, const std::string& default_file = "");

}  // namespace chargehub::config
