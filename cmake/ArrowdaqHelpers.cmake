# arrowdaq_add_test(NAME SOURCES a.cc b.cc LIBS x y LABEL unit [ENV K=V ...])
# One CTest test per test file, labelled, linked with gtest_main and gmock.
function(arrowdaq_add_test name)
  cmake_parse_arguments(T "" "LABEL;TIMEOUT" "SOURCES;LIBS;ENV" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} arrowdaq_testing GTest::gmock GTest::gtest_main
                                        arrowdaq_warnings)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABEL}" TIMEOUT ${T_TIMEOUT})
  if(T_ENV)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${T_ENV}")
  endif()
endfunction()

# arrowdaq_export_sdk(TARGET): make an executable the host of driver plugins. A plugin
# (plugin_api.h) leaves arrowdaq's symbols undefined and takes them from the executable that
# loads it, so there is exactly one DriverRegistry and one copy of every SDK type: the
# executable exports its symbols (-rdynamic) and carries the whole of the SDK libraries, not
# only the objects it uses itself.
function(arrowdaq_export_sdk target)
  set_target_properties(${target} PROPERTIES ENABLE_EXPORTS ON)
  target_link_options(${target} PRIVATE "LINKER:--whole-archive"
                      $<TARGET_FILE:arrowdaq_core> $<TARGET_FILE:arrowdaq_hardware>
                      $<TARGET_FILE:arrowdaq_instruments> "LINKER:--no-whole-archive")
  target_link_libraries(${target} PRIVATE arrowdaq_instruments)
endfunction()
