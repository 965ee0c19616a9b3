#!/usr/bin/env python3
"""Turns the Kafka message descriptions (schema/*.kdef, grammar in
schema/README.md) into C++: one struct per request/response with nested
structs for its arrays, and Decode/Encode functions per message version.

usage: codegen.py SCHEMA_DIR OUT_DIR   (writes OUT_DIR/kafka/messages.{h,cc})
"""
import os
import re
import sys

INTS = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
        "uint16": "uint16_t"}
PRIMS = set(INTS) | {"bool", "float64", "uuid", "string", "bytes", "records"}
NEVER = 1 << 15


class SchemaError(Exception):
    pass


def parse_versions(text, where):
    if text == "none":
        return (NEVER, -1)
    m = re.fullmatch(r"(\d+)\+", text)
    if m:
        return (int(m.group(1)), NEVER)
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if m:
        return (int(m.group(1)), int(m.group(2)))
    if re.fullmatch(r"\d+", text):
        return (int(text), int(text))
    raise SchemaError(f"{where}: bad versions '{text}'")


class Field:
    def __init__(self, name, type_, versions, nullable, default, where):
        self.name, self.type, self.versions = name, type_, versions
        self.nullable, self.default, self.where = nullable, default, where
        self.children = []  # for []Struct

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def elem(self):
        return self.type[2:]

    @property
    def is_struct_array(self):
        return self.is_array and self.elem not in PRIMS


class Message:
    def __init__(self, api, key, side, lo, hi, flexible, where):
        self.api, self.key, self.side = api, key, side
        self.lo, self.hi, self.flexible = lo, hi, flexible
        self.fields = []
        self.where = where

    @property
    def name(self):
        return self.api + ("Request" if self.side == "request" else "Response")


def parse_file(path):
    api = key = None
    messages = []
    stack = None  # [(indent, children list)]
    for lineno, raw in enumerate(open(path), 1):
        where = f"{os.path.basename(path)}:{lineno}"
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        words = line.split()
        if indent == 0:
            if words[0] == "api":
                api, key = words[1], int(words[2])
                continue
            if words[0] in ("request", "response"):
                if api is None:
                    raise SchemaError(f"{where}: '{words[0]}' before 'api'")
                attrs = dict(w.split("=", 1) for w in words[1:])
                lo, hi = parse_versions(attrs["versions"], where)
                flex = parse_versions(attrs.get("flexible", "none"), where)
                msg = Message(api, key, words[0], lo, hi, flex, where)
                messages.append(msg)
                stack = [(0, msg.fields)]
                continue
            raise SchemaError(f"{where}: unknown line '{line}'")
        if stack is None or indent % 2:
            raise SchemaError(f"{where}: field outside a message or odd indent")
        if len(words) < 3:
            raise SchemaError(f"{where}: field needs name, type and versions")
        attrs = {}
        for w in words[3:]:
            if "=" not in w:
                raise SchemaError(f"{where}: bad attribute '{w}'")
            k, v = w.split("=", 1)
            attrs[k] = v
        unknown = set(attrs) - {"nullable", "default"}
        if unknown:
            raise SchemaError(f"{where}: unknown attributes {sorted(unknown)}")
        f = Field(words[0], words[1], parse_versions(words[2], where),
                  parse_versions(attrs["nullable"], where) if "nullable" in attrs else None,
                  attrs.get("default"), where)
        base = f.elem if f.is_array else f.type
        if f.is_array and f.elem.startswith("[]"):
            raise SchemaError(f"{where}: arrays of arrays are not supported")
        if not f.is_array and base not in PRIMS:
            raise SchemaError(f"{where}: single struct fields are not supported")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if not stack:
            raise SchemaError(f"{where}: bad indentation")
        stack[-1][1].append(f)
        if f.is_struct_array:
            stack.append((indent, f.children))
    return messages


# --- C++ types -------------------------------------------------------------

def nullable_anywhere(f):
    return f.nullable is not None and f.nullable[0] <= f.nullable[1]


def scalar_type(t, side):
    if t in INTS:
        return INTS[t]
    if t == "bool":
        return "bool"
    if t == "float64":
        return "double"
    if t == "uuid":
        return "Uuid"
    if t == "string":
        return "std::string_view" if side == "request" else "std::string"
    if t == "bytes":
        return "std::span<const uint8_t>" if side == "request" else "std::vector<uint8_t>"
    raise SchemaError(t)


def cpp_type(f, side):
    if f.type == "records":
        return "std::optional<Records>"
    if f.is_array:
        elem = f.elem if f.is_struct_array else scalar_type(f.elem, side)
        t = f"std::vector<{elem}>"
    else:
        t = scalar_type(f.type, side)
    if nullable_anywhere(f) and (f.is_array or f.type in ("string", "bytes")):
        t = f"std::optional<{t}>"
    return t


def initializer(f):
    if f.type in INTS:
        if f.default is None:
            return " = 0"
        value = int(f.default, 0)
        return " = INT32_MIN" if value == -2**31 else f" = {value}"
    if f.type == "float64":
        return f" = {f.default if f.default is not None else 0}"
    if f.type == "bool":
        return f" = {f.default if f.default is not None else 'false'}"
    return ""


# --- version conditions ----------------------------------------------------

def cond(vers, lo, hi):
    """C++ condition on `v` for versions `vers` within message range [lo, hi];
    None when always true, 'false' when never."""
    a, b = max(vers[0], lo), min(vers[1], hi)
    if a > b:
        return "false"
    parts = []
    if a > lo:
        parts.append(f"v >= {a}")
    if b < hi:
        parts.append(f"v <= {b}")
    return " && ".join(parts) if parts else None


def guard(lines, c, body, ind):
    if c == "false":
        return
    if c is None:
        lines.extend(ind + b for b in body)
        return
    lines.append(f"{ind}if ({c}) {{")
    lines.extend(ind + "  " + b for b in body)
    lines.append(f"{ind}}}")


# --- generation ------------------------------------------------------------

class Gen:
    def __init__(self, msg):
        self.msg = msg
        self.structs = []  # (qualified name, fields), innermost first
        self.seen = {}

    def collect(self, fields, qual):
        for f in fields:
            if f.is_struct_array:
                q = f"{qual}::{f.elem}"
                self.collect(f.children, q)
                sig = [(c.name, c.type, c.versions, c.nullable) for c in f.children]
                if f.elem in self.seen:
                    if self.seen[f.elem] != sig:
                        raise SchemaError(f"{f.where}: struct {f.elem} defined twice, differently")
                    continue
                self.seen[f.elem] = sig
                self.structs.append((f.elem, f.children))

    def header(self):
        m = self.msg
        self.collect(m.fields, m.name)
        out = [f"struct {m.name} {{",
               f"  static constexpr int16_t kApiKey = {m.key};",
               f"  static constexpr int16_t kMinVersion = {m.lo};",
               f"  static constexpr int16_t kMaxVersion = {m.hi};",
               f"  static constexpr int16_t kFirstFlexibleVersion = {min(m.flexible[0], NEVER - 1)};"]
        for name, fields in self.structs:
            out.append(f"  struct {name} {{")
            out += [f"    {cpp_type(f, m.side)} {f.name}{initializer(f)};" for f in fields]
            out.append("  };")
        out += [f"  {cpp_type(f, m.side)} {f.name}{initializer(f)};" for f in m.fields]
        out.append("};")
        out.append(f"bool Decode(Reader& r, int16_t v, {m.name}* m);")
        out.append(f"void Encode(Writer& w, int16_t v, const {m.name}& m);")
        return out

    def decode_field(self, f, target):
        """Lines decoding field f into lvalue `target`."""
        m = self.msg
        nullable_c = (cond(f.nullable, m.lo, m.hi) or "true") if f.nullable else "false"
        opt = nullable_anywhere(f) and (f.is_array or f.type in ("string", "bytes"))
        t = f.type
        if t == "records":
            return [f"if (!r.NullableRecords(flex, &{target})) return false;"]
        if not f.is_array:
            if t in INTS:
                fn = {"int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64",
                      "uint16": "Uint16"}[t]
                return [f"if (!r.{fn}(&{target})) return false;"]
            if t == "bool":
                return [f"if (!r.Bool(&{target})) return false;"]
            if t == "float64":
                return [f"if (!r.Float64(&{target})) return false;"]
            if t == "uuid":
                return [f"if (!r.UuidValue(&{target})) return false;"]
            fn = "String" if t == "string" else "Bytes"
            if not opt:
                return [f"if (!r.{fn}(flex, &{target})) return false;"]
            return [f"if ({nullable_c}) {{",
                    f"  if (!r.Nullable{fn}(flex, &{target})) return false;",
                    "} else {",
                    f"  if (!r.{fn}(flex, &{target}.emplace())) return false;",
                    "}"]
        # arrays
        lines = ["{", "  int32_t n = 0;",
                 f"  if (!r.ArrayLength(flex, {nullable_c}, &n)) return false;"]
        vec = f"{target}.emplace()" if opt else target
        lines += ["  if (n >= 0) {", f"    auto& vec = {vec};",
                  "    vec.clear();",
                  "    vec.reserve(static_cast<size_t>(std::min(n, 1024)));",
                  "    for (int32_t i = 0; i < n; i++) {"]
        if f.is_struct_array:
            lines.append(f"      if (!Decode{f.elem}(r, v, &vec.emplace_back())) return false;")
        else:
            ef = Field("e", f.elem, f.versions, None, None, f.where)
            lines += ["      " + l for l in self.decode_field(ef, "vec.emplace_back()")]
        lines += ["    }", "  }", "}"]
        return lines

    def encode_field(self, f, value):
        m = self.msg
        nullable_c = (cond(f.nullable, m.lo, m.hi) or "true") if f.nullable else "false"
        opt = nullable_anywhere(f) and (f.is_array or f.type in ("string", "bytes"))
        t = f.type
        if t == "records":
            return [f"w.NullableRecords(flex, {value});"]
        if not f.is_array:
            if t in INTS:
                fn = {"int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64",
                      "uint16": "Uint16"}[t]
                return [f"w.{fn}({value});"]
            if t == "bool":
                return [f"w.Bool({value});"]
            if t == "float64":
                return [f"w.Float64({value});"]
            if t == "uuid":
                return [f"w.UuidValue({value});"]
            fn = "String" if t == "string" else "Bytes"
            if not opt:
                return [f"w.{fn}(flex, {value});"]
            empty = "std::string_view()" if t == "string" else "std::span<const uint8_t>()"
            return [f"if ({nullable_c}) {{",
                    f"  w.Nullable{fn}(flex, {value});",
                    "} else {",
                    f"  w.{fn}(flex, {value} ? {fn}View(*{value}) : {empty});",
                    "}"]
        lines = ["{"]
        if opt:
            lines += [f"  if (!{value}) {{",
                      f"    w.ArrayLength(flex, ({nullable_c}) ? -1 : 0);",
                      "  } else {"]
            vec = f"*{value}"
            pad = "    "
        else:
            vec = value
            pad = "  "
        lines.append(f"{pad}w.ArrayLength(flex, static_cast<int32_t>(({vec}).size()));")
        lines.append(f"{pad}for (const auto& e : {vec}) {{")
        if f.is_struct_array:
            lines.append(f"{pad}  Encode{f.elem}(w, v, e);")
        else:
            ef = Field("e", f.elem, f.versions, None, None, f.where)
            lines += [pad + "  " + l for l in self.encode_field(ef, "e")]
        lines.append(f"{pad}}}")
        if opt:
            lines.append("  }")
        lines.append("}")
        return lines

    def flex_line(self):
        a = self.msg.flexible[0]
        return f"const bool flex = v >= {a};" if a <= self.msg.hi else "const bool flex = false;"

    def body(self, fields, qual, fname):
        m = self.msg
        dec = [f"bool {fname}Decode(Reader& r, int16_t v, {qual}* m) {{",
               f"  {self.flex_line()}", "  (void)flex;"]
        enc = [f"void {fname}Encode(Writer& w, int16_t v, const {qual}& m) {{",
               f"  {self.flex_line()}", "  (void)flex;"]
        for f in fields:
            c = cond(f.versions, m.lo, m.hi)
            guard(dec, c, self.decode_field(f, f"m->{f.name}"), "  ")
            guard(enc, c, self.encode_field(f, f"m.{f.name}"), "  ")
        dec += ["  if (flex && !r.SkipTaggedFields()) return false;", "  return r.ok();", "}"]
        enc += ["  if (flex) w.EmptyTaggedFields();", "}"]
        return dec, enc

    def source(self):
        m = self.msg
        out = [f"// --- {m.name} ---", "namespace {"]
        decls = []
        for name, _ in self.structs:
            q = f"{m.name}::{name}"
            decls.append(f"bool Decode{name}(Reader& r, int16_t v, {q}* m);")
            decls.append(f"void Encode{name}(Writer& w, int16_t v, const {q}& m);")
        out += decls
        for name, fields in self.structs:
            d, e = self.body(fields, f"{m.name}::{name}", "")
            d[0] = d[0].replace("bool Decode(", f"bool Decode{name}(")
            e[0] = e[0].replace("void Encode(", f"void Encode{name}(")
            out += d + e
        out.append("}  // namespace")
        d, e = self.body(m.fields, m.name, "")
        out += d + e
        return out


HEADER_TOP = """// Generated by src/kafka/codegen.py from src/kafka/schema/*.kdef. Do not edit.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/wire.h"

namespace sentry::kafka {
"""

SOURCE_TOP = """// Generated by src/kafka/codegen.py from src/kafka/schema/*.kdef. Do not edit.
#include "kafka/messages.h"

#include <algorithm>

namespace sentry::kafka {
namespace {
[[maybe_unused]] std::string_view StringView(std::string_view s) { return s; }
[[maybe_unused]] std::span<const uint8_t> BytesView(std::span<const uint8_t> b) { return b; }
}  // namespace
"""


def main():
    schema_dir, out_dir = sys.argv[1], sys.argv[2]
    apis = []
    for fn in sorted(os.listdir(schema_dir)):
        if fn.endswith(".kdef"):
            msgs = parse_file(os.path.join(schema_dir, fn))
            sides = sorted(m.side for m in msgs)
            if sides != ["request", "response"]:
                raise SchemaError(f"{fn}: needs exactly one request and one response")
            req = next(m for m in msgs if m.side == "request")
            rsp = next(m for m in msgs if m.side == "response")
            if (req.lo, req.hi) != (rsp.lo, rsp.hi):
                raise SchemaError(f"{fn}: request and response version ranges differ")
            apis.append((req, rsp))
    apis.sort(key=lambda a: a[0].key)
    h = [HEADER_TOP]
    cc = [SOURCE_TOP]
    h.append("enum class ApiKey : int16_t {")
    h += [f"  k{req.api} = {req.key}," for req, _ in apis]
    h.append("};\n")
    h.append("// The APIs and versions this broker serves (what ApiVersions advertises).")
    h.append("struct ApiRange {\n  int16_t key;\n  const char* name;\n  int16_t min_version;\n"
             "  int16_t max_version;\n  int16_t first_flexible_version;\n};")
    h.append("inline constexpr ApiRange kApiRanges[] = {")
    for req, _ in apis:
        ff = min(req.flexible[0], NEVER - 1)
        h.append(f'    {{{req.key}, "{req.api}", {req.lo}, {req.hi}, {ff}}},')
    h.append("};\n")
    h.append("// The range of `key`, or nullptr when this broker does not serve it.")
    h.append("const ApiRange* FindApi(int16_t key);")
    h.append("// Decodes a request body of any served API/version and re-encodes it into\n"
             "// *reencoded (when not null). False when the body is malformed or the\n"
             "// API/version is not served. For tests and fuzzing.")
    h.append("bool DecodeAnyRequest(int16_t key, int16_t version, std::span<const uint8_t> body,\n"
             "                      std::vector<uint8_t>* reencoded);\n")
    for req, rsp in apis:
        for m in (req, rsp):
            g = Gen(m)
            h += g.header()
            h.append("")
            cc += g.source()
            cc.append("")
    cc.append("const ApiRange* FindApi(int16_t key) {")
    cc.append("  for (const ApiRange& a : kApiRanges) {\n    if (a.key == key) return &a;\n  }")
    cc.append("  return nullptr;\n}\n")
    cc.append("namespace {\ntemplate <typename T>\n"
              "bool RoundTrip(int16_t v, std::span<const uint8_t> body, std::vector<uint8_t>* out) {\n"
              "  if (v < T::kMinVersion || v > T::kMaxVersion) return false;\n"
              "  Reader r(body);\n  T m;\n  if (!Decode(r, v, &m) || !r.Done()) return false;\n"
              "  if (out) {\n    Writer w(out);\n    Encode(w, v, m);\n  }\n  return true;\n}\n"
              "}  // namespace\n")
    cc.append("bool DecodeAnyRequest(int16_t key, int16_t version, std::span<const uint8_t> body,\n"
              "                      std::vector<uint8_t>* reencoded) {")
    cc.append("  switch (key) {")
    for req, _ in apis:
        cc.append(f"    case {req.key}: return RoundTrip<{req.name}>(version, body, reencoded);")
    cc.append("    default: return false;\n  }\n}\n")
    h.append("}  // namespace sentry::kafka")
    cc.append("}  // namespace sentry::kafka")
    os.makedirs(os.path.join(out_dir, "kafka"), exist_ok=True)
    for name, lines in (("messages.h", h), ("messages.cc", cc)):
        path = os.path.join(out_dir, "kafka", name)
        text = "\n".join(lines) + "\n"
        if not os.path.exists(path) or open(path).read() != text:
            with open(path, "w") as fh:
                fh.write(text)


if __name__ == "__main__":
    try:
        main()
    except SchemaError as e:
        sys.exit(f"codegen: {e}")
