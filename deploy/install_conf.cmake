# install_conf.cmake — writes the config `cmake --install` puts in <sysconfdir>/hilo: deploy/hilo.conf
# with the installed files instead of the source tree's (the only keys that name it).
# cmake -DIN=deploy/hilo.conf -DOUT=... -DDATADIR=/usr/share/hilo -DCONFDIR=/etc/hilo -P install_conf.cmake
file(READ ${IN} text)
foreach(pair
    "flow = flows/collections.flow|flow = ${DATADIR}/flows/collections.flow"
    "compliance_dir = compliance|compliance_dir = ${DATADIR}/compliance"
    "assets_dir = ../router/console|assets_dir = ${DATADIR}/console"
    "dir = strategies|dir = ${CONFDIR}/strategies")
  string(REPLACE "|" ";" parts "${pair}")
  list(GET parts 0 from)
  list(GET parts 1 to)
  string(FIND "${text}" "\n${from}\n" at)
  if(at EQUAL -1)
    # deploy/hilo.conf changed: say so rather than install a config that points nowhere.
    message(FATAL_ERROR "${IN}: no line '${from}' (deploy/install_conf.cmake rewrites it)")
  endif()
  string(REPLACE "\n${from}\n" "\n${to}\n" text "${text}")
endforeach()
file(WRITE ${OUT} "${text}")
