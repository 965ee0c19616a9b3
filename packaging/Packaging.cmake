# Install rules and the Debian package (CPack DEB), included last from the
# root CMakeLists.txt. In a built build directory:
#   cpack -G DEB          -> sentry_<version>_<arch>.deb
#   scripts/package-test.sh BUILD_DIR   (builds, installs and checks the package)
#
# The package installs
#   /usr/bin/sentryd, sentryctl, sentry-bench (the last two with SENTRY_BUILD_TOOLS)
#   /etc/sentry/sentryd.toml          a conffile, generated from `sentryd --print-config`
#   /lib/systemd/system/sentryd.service
#   /usr/share/doc/sentry/            README.md (and LICENSE when there is one)
# and its maintainer scripts (packaging/debian/) create the system user and
# group sentry and /var/lib/sentry, enable and start sentryd.service, and
# remove all of it again on purge.

# Off by default in sanitizer and fuzzing builds: nothing there is packaged,
# and running their sentryd at build time is not needed.
if(SENTRY_ASAN OR SENTRY_TSAN OR SENTRY_FUZZ)
  set(_sentry_package_default OFF)
else()
  set(_sentry_package_default ON)
endif()
option(SENTRY_PACKAGE "Install rules, the generated sentryd.toml and CPack DEB settings"
       ${_sentry_package_default})
if(NOT SENTRY_PACKAGE)
  return()
endif()

set(SENTRY_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})

# Executables: relative destination, so under CPACK_PACKAGING_INSTALL_PREFIX
# (/usr) in the package and under CMAKE_INSTALL_PREFIX for `cmake --install`.
foreach(_sentry_exe sentryd sentryctl sentry-bench)
  if(TARGET ${_sentry_exe})
    install(TARGETS ${_sentry_exe} RUNTIME DESTINATION bin)
  endif()
endforeach()

# /etc/sentry/sentryd.toml: every setting with its help and default, commented
# out, from `sentryd --print-config`; data-dir set to /var/lib/sentry. Made
# again whenever sentryd is relinked.
set(SENTRY_GENERATED_CONFIG ${CMAKE_BINARY_DIR}/sentryd.toml)
add_custom_command(
  OUTPUT ${SENTRY_GENERATED_CONFIG}
  COMMAND sh ${SENTRY_PACKAGING_DIR}/gen-config.sh $<TARGET_FILE:sentryd>
          ${SENTRY_GENERATED_CONFIG} /var/lib/sentry ${PROJECT_VERSION}
  DEPENDS sentryd ${SENTRY_PACKAGING_DIR}/gen-config.sh
  COMMENT "Generating sentryd.toml from sentryd --print-config"
  VERBATIM)
add_custom_target(sentry_config ALL DEPENDS ${SENTRY_GENERATED_CONFIG})

# Absolute destinations: these paths are fixed by Debian, not by the prefix.
install(FILES ${SENTRY_GENERATED_CONFIG} DESTINATION /etc/sentry
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${SENTRY_PACKAGING_DIR}/sentryd.service DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/sentry)
if(EXISTS ${PROJECT_SOURCE_DIR}/LICENSE)
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION share/doc/sentry)
endif()

# CPack: one Debian package named sentry.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sentry)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Sentry")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Kafka-class message broker")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # sentry_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_NAME sentry)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "Sentry maintainers <sentry@localhost>")
# CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY first (the synopsis line).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "sentryd stores records in append-only memory-mapped log segments and
serves them over its own binary protocol and the Apache Kafka wire
protocol. Includes sentryctl (admin and inspection CLI), sentry-bench
(load generator) and a systemd unit, sentryd.service.")
# dpkg-shlibdeps turns the linked libraries (libspdlog, libfmt, zlib, snappy,
# lz4, zstd, libstdc++, ...) into Depends; adduser is for the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${SENTRY_PACKAGING_DIR}/debian/conffiles
    ${SENTRY_PACKAGING_DIR}/debian/postinst
    ${SENTRY_PACKAGING_DIR}/debian/prerm
    ${SENTRY_PACKAGING_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # scripts 0755, conffiles 0644
include(CPack)
