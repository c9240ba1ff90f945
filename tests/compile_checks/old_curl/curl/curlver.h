/* A stand-in for libcurl 7.84's version header: the last release without CURLOPT_PROTOCOLS_STR.
   check_curl_version.cmake points CMake's FindCURL at it. */
#define LIBCURL_VERSION "7.84.0"
#define LIBCURL_VERSION_NUM 0x075400
