# embed.cmake — turns router/lua/*.lua (with their router/lua/lib includes) into one C file of
# string constants, so the router,
# the CLI and the benchmark replay all load exactly the scripts in this folder.
# Usage: cmake -DOUT=<file.c> -DDIR=<lua dir> -P embed.cmake
file(GLOB scripts "${DIR}/*.lua")
list(SORT scripts)
set(out "/* Generated from the router/lua scripts by embed.cmake: do not edit. */\n#include \"hilo/scripts.h\"\n\n")
foreach(path ${scripts})
  get_filename_component(name ${path} NAME_WE)
  file(READ ${path} body)
  # "-- @include NAME.lua" lines are replaced by router/lua/lib/NAME.lua (shared Lua functions).
  string(REGEX MATCHALL "-- @include [a-z_]+\\.lua" includes "${body}")
  foreach(inc ${includes})
    string(REPLACE "-- @include " "" incname "${inc}")
    file(READ "${DIR}/lib/${incname}" incbody)
    string(REPLACE "${inc}" "${incbody}" body "${body}")
  endforeach()
  string(REPLACE "\\" "\\\\" body "${body}")
  string(REPLACE "\"" "\\\"" body "${body}")
  string(REPLACE "\n" "\\n\"\n    \"" body "${body}")
  string(APPEND out "const char hilo_script_${name}[] =\n    \"${body}\";\n\n")
endforeach()
file(WRITE ${OUT}.tmp "${out}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
