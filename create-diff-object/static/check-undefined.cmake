# cmake -DBINARY=<file> -DREADELF=<readelf> -P check-undefined.cmake: fails, and removes BINARY,
# when the static link left a strong undefined symbol (GNU ld's -w hides them; the call would
# jump to address 0). glibc's static __tls_get_addr reference is resolved by the startup code.
# Weak references nothing defines stay undefined: WEAK in GNU ld's output, LOCAL in lld's.
execute_process(COMMAND ${READELF} -sW ${BINARY} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BINARY}: readelf failed")
endif()
# "  Num: Value Size Type Bind Vis Ndx Name"
string(REGEX MATCHALL "[^\n]+ GLOBAL [^\n]+ UND [^\n]+" undefined "${out}")
set(bad "")
foreach(u ${undefined})
  string(REGEX REPLACE "^.* UND " "" name "${u}")
  string(REGEX REPLACE "@.*$" "" name "${name}")
  if(NOT name STREQUAL "__tls_get_addr")
    list(APPEND bad ${name})
  endif()
endforeach()
if(bad)
  file(REMOVE ${BINARY})
  list(JOIN bad " " names)
  message(FATAL_ERROR "${BINARY}: undefined symbols in the static link: ${names}")
endif()
