// The configuration file of every program: CLI11's TOML reader, with the rules of config.hpp on top
// (top-level keys for the command being run, sections only for their command, unknown keys refused).
#include "chargehub/config.hpp"

#include <memory>
#include <vector>

namespace chargehub::config {
namespace {

// The option `name` (a key of the file) of `app`, or nullptr: as CLI11 looks it up itself.
const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  if (name.empty()) return nullptr;
  if (auto* o = app->get_option_no_throw("--" + name)) return o;
  if (name.size() == 1)
    if (auto* o = app->get_option_no_throw("-" + name)) return o;
  return app->get_option_no_throw(name);
}

// Whether any command under `app` (itself included) has the option `name`.
bool known_anywhere(const CLI::App* app, const std::string& name) {
  if (find_option(app, name)) return true;
  for (const auto* sub : app->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); }))
    if (known_anywhere(sub, name)) return true;
  return false;
}

std::string section_name(const std::vector<std::string>& parents) {
  std::string s;
  for (const auto& p : parents) s += (s.empty() ? "" : ".") + p;
  return s;
}

class ChargehubToml : public CLI::ConfigBase {
 public:
  explicit ChargehubToml(CLI::App& app) : app_(app) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    auto items = CLI::ConfigBase::from_config(input);
    // The commands being run, outermost first: app, then e.g. rollout, then create.
    std::vector<CLI::App*> chain{&app_};
    for (;;) {
      CLI::App* next = nullptr;
      for (auto* s : chain.back()->get_subcommands())
        if (!s->get_name().empty()) next = s;
      if (!next) break;
      chain.push_back(next);
    }
    std::vector<CLI::ConfigItem> out;
    for (auto& item : items) {
      if (item.name == "++" || item.name == "--") continue;   // section markers: no command is run from the file
      // The command the item's section names (the program itself for top-level keys).
      CLI::App* target = &app_;
      std::vector<CLI::App*> path{&app_};
      for (const auto& p : item.parents) {
        CLI::App* sub = nullptr;
        try {
          sub = target->get_subcommand(p);
        } catch (const CLI::OptionNotFound&) {
        }
        if (!sub || sub->get_name().empty())
          throw CLI::ConfigError(where() + "[" + section_name(item.parents) + "] names no command of " +
                                 app_.get_name());
        target = sub;
        path.push_back(sub);
      }
      if (item.parents.empty()) {
        if (!known_anywhere(&app_, item.name)) throw unknown(item);
        refuse_special(item, find_option(&app_, item.name));
        // The program's own flag, or the innermost command being run that has it; else not for this run.
        const CLI::Option* opt = find_option(&app_, item.name);
        if (!opt) {
          for (std::size_t i = chain.size(); i-- > 1;) {
            if (find_option(chain[i], item.name)) {
              for (std::size_t j = 1; j <= i; ++j) item.parents.push_back(chain[j]->get_name());
              opt = find_option(chain[i], item.name);
              break;
            }
          }
          if (!opt) continue;
        }
        out.push_back(std::move(item));
        continue;
      }
      const CLI::Option* opt = find_option(target, item.name);
      if (!opt) throw unknown(item);
      refuse_special(item, opt);
      // Applied only when that very command runs (the chain starts with the same commands).
      bool running = path.size() <= chain.size();
      for (std::size_t i = 0; running && i < path.size(); ++i) running = path[i] == chain[i];
      if (running) out.push_back(std::move(item));
    }
    return out;
  }

 private:
  std::string where() const {
    std::string file;
    if (const auto* c = app_.get_config_ptr()) {
      try {
        file = c->as<std::string>();
      } catch (const CLI::Error&) {
      }
    }
    return "configuration file" + (file.empty() ? std::string() : " " + file) + ": ";
  }
  CLI::ConfigError unknown(const CLI::ConfigItem& item) const {
    std::string in = item.parents.empty() ? std::string() : " in [" + section_name(item.parents) + "]";
    return CLI::ConfigError(where() + "unknown key \"" + item.name + "\"" + in +
                            " (keys are the long flags without \"--\"; see --help)");
  }
  void refuse_special(const CLI::ConfigItem& item, const CLI::Option* opt) const {
    if (!opt) return;
    if (opt == app_.get_config_ptr() || opt == app_.get_help_ptr() || opt == app_.get_help_all_ptr() ||
        !opt->get_configurable())
      throw CLI::ConfigError(where() + "\"" + item.name + "\" cannot be set in a configuration file");
  }

  CLI::App& app_;
};

void allow_config_after_commands(CLI::App& app) {
  for (auto* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); })) {
    sub->fallthrough();
    allow_config_after_commands(*sub);
  }
}

}  // namespace

CLI::Option* add_config_option(CLI::App& app, const std::string& default_file) {
  app.config_formatter(std::make_shared<ChargehubToml>(app));
  app.allow_config_extras(CLI::config_extras_mode::error);
  allow_config_after_commands(app);
  return app.set_config("--config", default_file,
                        "read flags from this TOML file (key = long flag without --; the command line wins; "
                        "before or after the command; docs/packages.md)")
      ->type_name("FILE");
}

}  // namespace chargehub::config
