# Debian packages, one per component (docs/packages.md):
#   cmake --build build --target package        (or: cd build && cpack -G DEB)
# chargehub-core, chargehub-bridge, chargehub-broker-plugin, chargehub-ota, chargehub-sim. The programs'
# install() rules are in each part's CMakeLists.txt (COMPONENT core|bridge|plugin|ota|sim); the units,
# default configuration files (conffiles under /etc/chargehub) and maintainer scripts are in packaging/.
set(CHARGEHUB_PKG ${CMAKE_CURRENT_LIST_DIR}/../packaging)

# systemd units (Debian 12 keeps packages' units in /lib/systemd/system) and configuration files.
install(FILES ${CHARGEHUB_PKG}/systemd/chargehub-core.service DESTINATION /lib/systemd/system COMPONENT core)
install(FILES ${CHARGEHUB_PKG}/etc/core.toml DESTINATION /etc/chargehub COMPONENT core)
install(FILES ${CHARGEHUB_PKG}/systemd/chargehub-bridge.service DESTINATION /lib/systemd/system COMPONENT bridge)
install(FILES ${CHARGEHUB_PKG}/etc/bridge.toml DESTINATION /etc/chargehub COMPONENT bridge)
install(FILES ${CHARGEHUB_PKG}/systemd/chargehub-mosquitto.service DESTINATION /lib/systemd/system COMPONENT plugin)
install(FILES ${CHARGEHUB_PKG}/etc/mosquitto.conf DESTINATION /etc/chargehub COMPONENT plugin)
install(PROGRAMS ${CHARGEHUB_PKG}/lib/ensure-service-account DESTINATION lib/chargehub COMPONENT plugin)
install(FILES ${CHARGEHUB_PKG}/systemd/chargehub-sim.service DESTINATION /lib/systemd/system COMPONENT sim)
install(FILES ${CHARGEHUB_PKG}/etc/sim.toml DESTINATION /etc/chargehub COMPONENT sim)
install(FILES ${CHARGEHUB_PKG}/etc/ota.toml DESTINATION /etc/chargehub COMPONENT ota)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME chargehub)
set(CPACK_PACKAGE_VENDOR "ChargeHub")
set(CPACK_PACKAGE_CONTACT "ChargeHub maintainers <maintainers@chargehub.invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL core bridge plugin ota sim)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)             # library dependencies found by dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)            # xz takes long over the 10-70 MB of the programs

set(CPACK_DEBIAN_CORE_PACKAGE_NAME chargehub-core)
set(CPACK_COMPONENT_CORE_DESCRIPTION "ChargeHub core: charging sessions, money, devices and the admin HTTP API\nRuns as chargehub-core.service with /etc/chargehub/core.toml;\nits data in /var/lib/chargehub.")
set(CPACK_DEBIAN_CORE_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_CORE_PACKAGE_RECOMMENDS "chargehub-broker-plugin")
set(CPACK_DEBIAN_CORE_PACKAGE_CONTROL_EXTRA
    "${CHARGEHUB_PKG}/debian/core/postinst;${CHARGEHUB_PKG}/debian/core/prerm;${CHARGEHUB_PKG}/debian/core/postrm;${CHARGEHUB_PKG}/debian/core/conffiles")

set(CPACK_DEBIAN_BRIDGE_PACKAGE_NAME chargehub-bridge)
set(CPACK_COMPONENT_BRIDGE_DESCRIPTION "ChargeHub edge bridge: chargers' frames over TCP and serial lines to MQTT\nRuns as chargehub-bridge.service with /etc/chargehub/bridge.toml.")
set(CPACK_DEBIAN_BRIDGE_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_BRIDGE_PACKAGE_RECOMMENDS "chargehub-broker-plugin")
set(CPACK_DEBIAN_BRIDGE_PACKAGE_CONTROL_EXTRA
    "${CHARGEHUB_PKG}/debian/bridge/postinst;${CHARGEHUB_PKG}/debian/bridge/prerm;${CHARGEHUB_PKG}/debian/bridge/postrm;${CHARGEHUB_PKG}/debian/bridge/conffiles")

set(CPACK_DEBIAN_PLUGIN_PACKAGE_NAME chargehub-broker-plugin)
set(CPACK_COMPONENT_PLUGIN_DESCRIPTION "ChargeHub's Mosquitto plugin: chargers' and services' logins and topic rules\nRuns Mosquitto (chargehub-mosquitto.service, /etc/chargehub/mosquitto.conf);\nchargehub-passwd issues the service accounts' secrets.")
set(CPACK_DEBIAN_PLUGIN_PACKAGE_DEPENDS "mosquitto (>= 2.0), adduser, procps")   # procps: /bin/kill for `systemctl reload`
set(CPACK_DEBIAN_PLUGIN_PACKAGE_CONTROL_EXTRA
    "${CHARGEHUB_PKG}/debian/plugin/postinst;${CHARGEHUB_PKG}/debian/plugin/prerm;${CHARGEHUB_PKG}/debian/plugin/postrm;${CHARGEHUB_PKG}/debian/plugin/conffiles")

set(CPACK_DEBIAN_OTA_PACKAGE_NAME chargehub-ota)
set(CPACK_COMPONENT_OTA_DESCRIPTION "ChargeHub's firmware tool: keys, signed packages, uploads, rollouts, flashing\nSettings in /etc/chargehub/ota.toml:\nchargehub-ota <command> --config /etc/chargehub/ota.toml.")
set(CPACK_DEBIAN_OTA_PACKAGE_CONTROL_EXTRA "${CHARGEHUB_PKG}/debian/ota/conffiles")

set(CPACK_DEBIAN_SIM_PACKAGE_NAME chargehub-sim)
set(CPACK_COMPONENT_SIM_DESCRIPTION "ChargeHub's simulated chargers and load generator, for test sites\nchargehub-sim.service (not enabled) runs it with /etc/chargehub/sim.toml.")
set(CPACK_DEBIAN_SIM_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_SIM_PACKAGE_CONTROL_EXTRA
    "${CHARGEHUB_PKG}/debian/sim/postinst;${CHARGEHUB_PKG}/debian/sim/prerm;${CHARGEHUB_PKG}/debian/sim/postrm;${CHARGEHUB_PKG}/debian/sim/conffiles")

include(CPack)
