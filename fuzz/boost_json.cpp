// Boost.JSON's sources, built with the fuzzers' instrumentation (see CMakeLists.txt).
#include <boost/json/src.hpp>
