# parley_add_plugin(<id> SOURCES <files>... [LIBRARIES <libs>...] [OUTPUT_DIRECTORY <dir>]
#                   [INSTALL_DESTINATION <dir>])
#
# Builds <id>.so, the file parleyd loads for plugins.load = <id>. The CMake target is
# parley_plugin_<id>. It compiles with the flags the ABI record assumes (C++17, hidden visibility)
# and links with --no-undefined so that a missing symbol fails the build, not parleyd's start-up.
# The ABI record itself is exported by PARLEY_PLUGIN() in one of the sources.
function(parley_add_plugin id)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "parley_add_plugin(${id}): SOURCES is required")
  endif()
  if(NOT id MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "parley_add_plugin(${id}): a plugin id is [a-z][a-z0-9_]*")
  endif()
  set(target parley_plugin_${id})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ParleySDK::sdk ${ARG_LIBRARIES})
  target_compile_features(${target} PRIVATE cxx_std_17)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME ${id}
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
  if(ARG_INSTALL_DESTINATION)
    install(TARGETS ${target} LIBRARY DESTINATION ${ARG_INSTALL_DESTINATION})
  endif()
endfunction()
