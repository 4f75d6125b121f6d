# Arrow C++ (with Parquet): the system's when find_package finds it, otherwise the headers and
# shared libraries shipped inside the pyarrow wheel in the project's .venv.
# Either way the result is two targets: arrowdaq_arrow (arrow + compute) and arrowdaq_parquet,
# plus arrowdaq_flight (Arrow Flight RPC, for the server layer) when Flight is available: the
# wheel always ships libarrow_flight (gRPC and protobuf linked into it, so its public headers
# need neither); a system Arrow needs its ArrowFlight package. ARROWDAQ_HAVE_FLIGHT says which.
set(ARROWDAQ_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python of the .venv: provides pyarrow (Arrow C++ when the system has none) and the test oracles")
find_package(Arrow CONFIG QUIET)
find_package(Parquet CONFIG QUIET)
add_library(arrowdaq_arrow INTERFACE)
add_library(arrowdaq_parquet INTERFACE)
if(Arrow_FOUND AND Parquet_FOUND)
  message(STATUS "Arrow ${Arrow_VERSION} from the system")
  target_link_libraries(arrowdaq_arrow INTERFACE Arrow::arrow_shared)
  if(TARGET ArrowCompute::arrow_compute_shared)
    target_link_libraries(arrowdaq_arrow INTERFACE ArrowCompute::arrow_compute_shared)
  endif()
  target_link_libraries(arrowdaq_parquet INTERFACE Parquet::parquet_shared arrowdaq_arrow)
  find_package(ArrowFlight CONFIG QUIET)
  if(ArrowFlight_FOUND)
    add_library(arrowdaq_flight INTERFACE)
    target_link_libraries(arrowdaq_flight INTERFACE ArrowFlight::arrow_flight_shared arrowdaq_arrow)
    set(ARROWDAQ_HAVE_FLIGHT ON)
  else()
    message(WARNING "The system's Arrow has no ArrowFlight package: the server layer "
                    "(arrowdaq serve) is left out. Install Arrow Flight C++ or use the pyarrow wheel.")
    set(ARROWDAQ_HAVE_FLIGHT OFF)
  endif()
  return()
endif()

execute_process(
  COMMAND ${ARROWDAQ_PYTHON} -c
          "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.__version__)"
  OUTPUT_VARIABLE _pa_out RESULT_VARIABLE _pa_rc ERROR_VARIABLE _pa_err
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "Arrow C++ not found: no system Arrow and '${ARROWDAQ_PYTHON}' has no "
                      "pyarrow (${_pa_err}). Run scripts/bootstrap.sh first.")
endif()
string(REPLACE "\n" ";" _pa_out "${_pa_out}")
list(GET _pa_out 0 ARROW_WHEEL_INCLUDE)
list(GET _pa_out 1 ARROW_WHEEL_LIBDIR)
list(GET _pa_out 2 ARROW_WHEEL_VERSION)
string(REGEX MATCH "^[0-9]+" _pa_major "${ARROW_WHEEL_VERSION}")
set(_so "${_pa_major}00")
message(STATUS "Arrow ${ARROW_WHEEL_VERSION} from the pyarrow wheel in ${ARROW_WHEEL_LIBDIR}")

function(_arrowdaq_wheel_lib target file)
  if(NOT EXISTS "${ARROW_WHEEL_LIBDIR}/${file}")
    message(FATAL_ERROR "pyarrow wheel lacks ${file} in ${ARROW_WHEEL_LIBDIR}")
  endif()
  add_library(${target} SHARED IMPORTED)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${ARROW_WHEEL_LIBDIR}/${file}"
    INTERFACE_INCLUDE_DIRECTORIES "${ARROW_WHEEL_INCLUDE}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${ARROW_WHEEL_INCLUDE}")
endfunction()
_arrowdaq_wheel_lib(arrowdaq_wheel_arrow libarrow.so.${_so})
_arrowdaq_wheel_lib(arrowdaq_wheel_parquet libparquet.so.${_so})
target_link_libraries(arrowdaq_arrow INTERFACE arrowdaq_wheel_arrow)
if(EXISTS "${ARROW_WHEEL_LIBDIR}/libarrow_compute.so.${_so}")
  _arrowdaq_wheel_lib(arrowdaq_wheel_compute libarrow_compute.so.${_so})
  target_link_libraries(arrowdaq_arrow INTERFACE arrowdaq_wheel_compute)
endif()
target_link_libraries(arrowdaq_parquet INTERFACE arrowdaq_wheel_parquet arrowdaq_arrow)
_arrowdaq_wheel_lib(arrowdaq_wheel_flight libarrow_flight.so.${_so})
add_library(arrowdaq_flight INTERFACE)
target_link_libraries(arrowdaq_flight INTERFACE arrowdaq_wheel_flight arrowdaq_arrow)
set(ARROWDAQ_HAVE_FLIGHT ON)
