# Install layout (cmake --install / make install PREFIX=...) and the CMake package of the
# driver SDK (docs/drivers.md). A relocatable tree:
#   bin/arrowdaq                      RUNPATH $ORIGIN/../<libdir>/arrowdaq
#   <libdir>/arrowdaq/                the exact Arrow shared libraries arrowdaq was built against
#                                     (when they came from the pyarrow wheel; private to arrowdaq,
#                                     so they never clash with a system Arrow)
#   <libdir>/libarrowdaq_*.a          the SDK libraries (for a driver's own tests)
#   <libdir>/cmake/arrowdaq/          arrowdaqConfig.cmake, version file, exported targets
#   include/arrowdaq/                 the SDK headers (the public ones only)
#   include/arrowdaq/third_party/     Arrow's headers (wheel builds)
#   share/arrowdaq/                   examples (demo.toml, plugin-driver), the simulators
# Install from a build without sanitizers: a plugin built against the SDK must agree with the
# executable that loads it (the package records ARROWDAQ_SANITIZE and passes it on).
set(ARROWDAQ_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/arrowdaq")
set(ARROWDAQ_INSTALL_PRIVATE_LIBDIR "${CMAKE_INSTALL_LIBDIR}/arrowdaq")
set(ARROWDAQ_INSTALL_THIRD_PARTY_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/arrowdaq/third_party")

if(NOT TARGET arrowdaq OR NOT TARGET arrowdaq_instruments)
  return()  # a partial build (ARROWDAQ_ONLY_LAYERS) installs nothing
endif()

# bin/arrowdaq finds the bundled Arrow next to it, wherever the tree is moved.
file(RELATIVE_PATH _rel "/p/${CMAKE_INSTALL_BINDIR}" "/p/${ARROWDAQ_INSTALL_PRIVATE_LIBDIR}")
set_target_properties(arrowdaq PROPERTIES INSTALL_RPATH "$ORIGIN/${_rel}")
install(TARGETS arrowdaq RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The SDK: libraries with exported targets arrowdaq::core, ::hardware, ::instruments (and what
# they link), arrowdaq::arrowdaq (all of the SDK, for a driver's tests), arrowdaq::plugin
# (headers only, for the plugin itself: its arrowdaq symbols come from the executable).
add_library(arrowdaq_sdk INTERFACE)
target_link_libraries(arrowdaq_sdk INTERFACE arrowdaq_instruments arrowdaq_hardware arrowdaq_core)
add_library(arrowdaq_plugin INTERFACE)
target_include_directories(arrowdaq_plugin INTERFACE
                           $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
                           $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(arrowdaq_plugin INTERFACE arrowdaq_arrow)
target_compile_features(arrowdaq_plugin INTERFACE cxx_std_20)
foreach(t core hardware instruments runtime sdk plugin)
  set_target_properties(arrowdaq_${t} PROPERTIES EXPORT_NAME ${t})
endforeach()
set_target_properties(arrowdaq_sdk PROPERTIES EXPORT_NAME arrowdaq)
set_target_properties(arrowdaq_arrow PROPERTIES EXPORT_NAME arrow_libs)
set_target_properties(arrowdaq_asio PROPERTIES EXPORT_NAME asio)
set_target_properties(arrowdaq_warnings PROPERTIES EXPORT_NAME warnings)
# Asio is header-only and only instrument_actor.h (not part of the SDK) includes it.
set_property(TARGET arrowdaq_asio PROPERTY INTERFACE_INCLUDE_DIRECTORIES
             $<BUILD_INTERFACE:${ASIO_INCLUDE_DIR}>)
set_property(TARGET arrowdaq_asio PROPERTY INTERFACE_SYSTEM_INCLUDE_DIRECTORIES
             $<BUILD_INTERFACE:${ASIO_INCLUDE_DIR}>)
install(TARGETS arrowdaq_core arrowdaq_hardware arrowdaq_instruments arrowdaq_runtime
                arrowdaq_sdk arrowdaq_plugin arrowdaq_arrow arrowdaq_asio arrowdaq_warnings
        EXPORT arrowdaqTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT arrowdaqTargets NAMESPACE arrowdaq:: DESTINATION ${ARROWDAQ_INSTALL_CMAKEDIR})

# The public headers: what a driver includes (docs/drivers.md, "The SDK"). Everything else
# in src/ is private and not installed.
set(ARROWDAQ_PUBLIC_HEADERS
    core/batch_pool.h core/buffer_pool.h core/clock.h core/options.h core/schema.h
    core/status.h
    hardware/ieee488.h hardware/instrument_hardware.h hardware/resource.h
    hardware/serial_transport.h hardware/stream_transport.h hardware/tcp_transport.h
    instruments/driver.h instruments/float64_block.h instruments/message_device.h
    instruments/movable.h instruments/plugin_api.h instruments/sample_clock.h
    instruments/scpi_driver.h
    testing/gtest_util.h testing/mock_hardware.h testing/sim_process.h testing/temp_dir.h)
foreach(h ${ARROWDAQ_PUBLIC_HEADERS})
  get_filename_component(_dir "${h}" DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/src/arrowdaq/${h}
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/arrowdaq/${_dir})
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/include/arrowdaq/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/arrowdaq)

# Arrow from the pyarrow wheel: its shared libraries and headers go into the tree.
set(ARROWDAQ_BUNDLED_ARROW OFF)
if(TARGET arrowdaq_wheel_arrow)
  set(ARROWDAQ_BUNDLED_ARROW ON)
  set(ARROWDAQ_BUNDLED_ARROW_LIBS "")
  foreach(t arrowdaq_wheel_arrow arrowdaq_wheel_parquet arrowdaq_wheel_compute arrowdaq_wheel_flight)
    if(TARGET ${t})
      get_target_property(_loc ${t} IMPORTED_LOCATION)
      install(FILES ${_loc} DESTINATION ${ARROWDAQ_INSTALL_PRIVATE_LIBDIR})
      get_filename_component(_name ${_loc} NAME)
      list(APPEND ARROWDAQ_BUNDLED_ARROW_LIBS "${t}=${_name}")
    endif()
  endforeach()
  install(DIRECTORY ${ARROW_WHEEL_INCLUDE}/arrow
          DESTINATION ${ARROWDAQ_INSTALL_THIRD_PARTY_INCLUDEDIR})
endif()

include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/arrowdaqConfig.cmake.in
  ${PROJECT_BINARY_DIR}/arrowdaqConfig.cmake INSTALL_DESTINATION ${ARROWDAQ_INSTALL_CMAKEDIR}
  PATH_VARS ARROWDAQ_INSTALL_PRIVATE_LIBDIR ARROWDAQ_INSTALL_THIRD_PARTY_INCLUDEDIR
            CMAKE_INSTALL_BINDIR)
# Plugins are bound to one ABI version: only the same major.minor satisfies find_package.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/arrowdaqConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/arrowdaqConfig.cmake
              ${PROJECT_BINARY_DIR}/arrowdaqConfigVersion.cmake
        DESTINATION ${ARROWDAQ_INSTALL_CMAKEDIR})

# share/arrowdaq: the demo, the example plugin and the simulators.
install(FILES ${PROJECT_SOURCE_DIR}/examples/demo.toml DESTINATION ${CMAKE_INSTALL_DATADIR}/arrowdaq/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/plugin-driver
        DESTINATION ${CMAKE_INSTALL_DATADIR}/arrowdaq/examples
        PATTERN "build" EXCLUDE PATTERN "__pycache__" EXCLUDE)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/tools/sim/ DESTINATION ${CMAKE_INSTALL_DATADIR}/arrowdaq/sim
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)

# The Debian package (make package): arrowdaq_<version>_amd64.deb installing into /usr. Its
# shared-library dependencies (HDF5, spdlog, fmt, libstdc++, ...) are computed from the
# binaries by dpkg-shlibdeps; the bundled Arrow in <libdir>/arrowdaq is private to the package.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME arrowdaq)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "arrowdaq")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "data acquisition engine: instruments in TOML, Arrow streams, HDF5/Arrow/Parquet/CSV files")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "arrowdaq developers <arrowdaq@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
    "${CMAKE_CURRENT_BINARY_DIR}/_CPack_Packages/Linux/DEB/arrowdaq-${PROJECT_VERSION}-Linux/usr/${ARROWDAQ_INSTALL_PRIVATE_LIBDIR}")
# The simulators are Python 3 (standard library); the SDK needs a compiler, CMake and, for a
# driver's tests, GoogleTest.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "g++, cmake, libgtest-dev, libgmock-dev")
include(CPack)
