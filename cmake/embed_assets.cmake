# Writes OUT: a C table of every file of DIR (server/assets), so that tipd
# serves its few static files (scripts, the staff console's page) without
# reading the disk. Each file becomes a byte array, as in
# embed_migrations.cmake.
file(GLOB files RELATIVE ${DIR} ${DIR}/*)
list(SORT files)
set(body "/* Generated from server/assets/ by cmake/embed_assets.cmake. */\n")
string(APPEND body "#include \"assets.h\"\n\n")
set(entries "")
set(i 0)
foreach(f ${files})
    if(NOT f MATCHES "^[a-z0-9_-]+\\.(js|html|css)$")
        message(FATAL_ERROR "server/assets/${f}: name must be lower-case .js, .html or .css")
    endif()
    file(READ ${DIR}/${f} hex HEX)
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    string(APPEND body "static const char a${i}[] = {${bytes}0};\n")
    string(APPEND entries "    {\"${f}\", a${i}, sizeof(a${i}) - 1},\n")
    math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "\nconst struct asset assets[] = {\n${entries}};\n")
string(APPEND body "const int assets_count = ${i};\n")
file(WRITE ${OUT}.tmp "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
