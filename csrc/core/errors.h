// errors.h — typed exceptions. The bindings translate them to Python:
//   ShapeError -> ValueError, DTypeError -> TypeError, DeviceError -> RuntimeError,
//   IndexError -> IndexError, OutOfMemory -> MemoryError; anything else derived from std::exception -> RuntimeError.
// Messages name the op, the shapes and what was expected.
#pragma once
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dlcore {

struct ShapeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct DTypeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct DeviceError : std::runtime_error { using std::runtime_error::runtime_error; };
struct IndexError : std::runtime_error { using std::runtime_error::runtime_error; };
struct OutOfMemory : std::runtime_error { using std::runtime_error::runtime_error; };

inline std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  if (s.size() == 1) o << ",";
  o << ")";
  return o.str();
}

// fail<ShapeError>("matmul", "expected ...") — builds "matmul: expected ..." and throws.
template <typename E, typename... Args>
[[noreturn]] void fail(const char* op, const Args&... args) {
  std::ostringstream o;
  o << op << ": ";
  (o << ... << args);
  throw E(o.str());
}

}  // namespace dlcore
