#include "host.hpp"
namespace chargehub::sim::io {
std::unique_ptr<Link> make_mqtt_link(asio::io_context&, const SimClock&, Station&, MqttOptions) { throw std::runtime_error("mqtt: not yet"); }
}
