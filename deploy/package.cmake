# package.cmake — `cpack -G DEB` in a build tree makes hilo_<version>_<arch>.deb from what
# `cmake --install` installs (docs/operations.md, "The Debian package"). Configure the tree with
# -DCMAKE_INSTALL_PREFIX=/usr: the units and the example config name the configured paths.
# Dependencies come from dpkg-shlibdeps on the binaries; the maintainer scripts, conffiles,
# copyright and changelog are in deploy/debian/.
# Who builds the package answers for it: -DHILO_MAINTAINER="Name <address>".
set(HILO_MAINTAINER "hilo maintainers <hilo-maintainers@example.org>" CACHE STRING "Maintainer of the .deb")
set(HILO_DEB_RELEASE 1) # the Debian revision: <version>-<release>
string(TIMESTAMP HILO_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC) # honours SOURCE_DATE_EPOCH

# Debian's copyright and changelog (compressed, without a timestamp) in /usr/share/doc/hilo.
configure_file(${PROJECT_SOURCE_DIR}/deploy/debian/changelog.in ${CMAKE_BINARY_DIR}/debian/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
  COMMAND gzip -9nf -k ${CMAKE_BINARY_DIR}/debian/changelog.Debian
  DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog.Debian COMMENT "changelog.Debian.gz")
add_custom_target(hilo_debian_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/copyright ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hilo)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${HILO_DEB_RELEASE})
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "${HILO_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "omnichannel conversation router for collection contact centers")
set(CPACK_PACKAGE_DESCRIPTION "hilo keeps a debtor's WhatsApp, SMS and voice contacts in one conversation:
a router (hilo-router) commits every message to Redis, runs the bot and the
compliance gate and serves the agents' web console; reference connectors
(hilo-whatsapp, hilo-sms, hilo-voice) link the providers to it; the hilo
command line imports portfolios and runs outbound strategies; hilo_link is
the Python client of the connector link, for gateway teams.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: the postinst makes the hilo user. Redis may run on another host: recommended only.
# python3: the link client hilo_link in /usr/lib/python3/dist-packages (clients/python), byte-
# compiled by the postinst (py3compile) and cleaned by the prerm (py3clean), as dh_python3 does.
# Its modules (python3-zmq, python3-protobuf) are recommended: the daemons need neither, and
# without them `import hilo_link` says which package to install.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, python3")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "redis-server (>= 5:7.0), python3-zmq, python3-protobuf")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
