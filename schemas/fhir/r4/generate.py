#!/usr/bin/env python3
"""Generate schemas/fhir/r4/types.json, the FHIR R4 type table of the XML codec.

The FHIR XML <-> JSON codec (adapters/fhir/xml.c) needs to know, for every
element of every type: its FHIR type, whether it repeats (a JSON array),
whether it is an XML attribute rather than a child element, and its place in
the element order the specification gives (XML element order matters in
FHIR). All of that is derived from the official R4 JSON schema
(fhir.schema.json, id http://hl7.org/fhir/json-schema/4.0, CC0), whose
property order follows the specification.

Run at development time, python3 standard library only; the output is
committed:

    python3 schemas/fhir/r4/generate.py \
        /work/shared/corpus/fhir/r4/schema/fhir.schema.json \
        schemas/fhir/r4/types.json [--check XML_DIR]

--check XML_DIR also verifies, against real FHIR XML files, that every
element's children appear in the order the table gives.

Rules applied to the schema (each checked; the script fails loudly when the
schema does not look as expected):

- A definition whose "resourceType" property is a const of its own name is
  a resource; a
  definition without properties is a primitive type (except ResourceList);
  one whose name has "_" is a backbone element (Patient_Contact); the others
  are complex datatypes.
- A property {"$ref": "#/definitions/T"} has type T; {"items": {...},
  "type": "array"} repeats; {"enum": [...]} is a required-binding code.
- "_x" properties (the JSON home of a primitive's id and extensions) are not
  elements of their own: the codec allows "_x" for every primitive element x
  (the schema omits some, e.g. for canonical elements and Resource.id, which
  json.html nevertheless allows).
- Choice elements (value[x]) appear in the schema under their concrete names
  (valueBoolean, valueQuantity); a primitive choice is inlined as
  {"pattern", "type"}, so its type comes from the name's suffix and its
  pattern must equal that primitive's pattern (base64Binary has none in the
  schema's definitions, so there any pattern is accepted).
- $ref ResourceList (contained, Bundle.entry.resource, Parameters.parameter
  .resource) becomes type "Resource": any resource, named in XML by a
  wrapper element and in JSON by its resourceType.
- In XML, "id" of every type that is not a resource, and "url" of
  Extension, are attributes ({"attr": true}).

All 145 resources of the schema and every datatype and backbone element are
included: the file stays well under a megabyte.
"""

import json
import os
import sys
import xml.etree.ElementTree as ET

FHIR_NS = "{http://hl7.org/fhir}"
XHTML_NS = "{http://www.w3.org/1999/xhtml}"

# How each primitive is written in JSON (json.html: "decimal, integer,
# positiveInt, unsignedInt are JSON numbers; boolean is true/false").
JSON_KIND = {
    "boolean": "boolean",
    "decimal": "number",
    "integer": "number",
    "positiveInt": "number",
    "unsignedInt": "number",
    "xhtml": "xhtml",
}


def fail(msg):
    sys.stderr.write("generate.py: %s\n" % msg)
    sys.exit(1)


def ref_name(ref):
    prefix = "#/definitions/"
    if not ref.startswith(prefix):
        fail("unexpected $ref %r" % ref)
    return ref[len(prefix):]


def build(schema):
    defs = schema["definitions"]
    primitives = sorted(k for k, v in defs.items()
                        if "properties" not in v and k != "ResourceList")
    if "string" not in primitives or "xhtml" not in primitives:
        fail("primitive types not where expected")
    # Longest suffix first: valueDateTime is dateTime, not time.
    suffixes = sorted(((p[0].upper() + p[1:], p) for p in primitives),
                      key=lambda s: -len(s[0]))

    types = {}
    for name, d in defs.items():
        if name in primitives or name == "ResourceList":
            continue
        props = d.get("properties")
        if props is None:
            fail("definition %s has no properties" % name)
        # ExampleScenario_Instance has a plain element named resourceType:
        # only the const marks a resource.
        is_resource = props.get("resourceType", {}).get("const") == name
        if is_resource:
            kind = "resource"
        elif "_" in name:
            kind = "backbone"
        else:
            kind = "complex"
        elements = []
        for pname, p in props.items():
            if pname == "resourceType" and is_resource:
                continue
            if pname.startswith("_"):
                base = pname[1:]
                if base not in props:
                    fail("%s.%s has no base element" % (name, pname))
                continue
            is_array = p.get("type") == "array"
            item = p["items"] if is_array else p
            if "$ref" in item:
                etype = ref_name(item["$ref"])
                if etype == "ResourceList":
                    etype = "Resource"
                elif etype not in defs:
                    fail("%s.%s: unknown type %s" % (name, pname, etype))
            elif "enum" in item:
                etype = "code"
            elif "pattern" in item or ("type" in item and not is_array):
                etype = None
                for suf, prim in suffixes:
                    if pname.endswith(suf) and len(pname) > len(suf):
                        etype = prim
                        break
                if etype is None:
                    fail("%s.%s: inline primitive without a type suffix"
                         % (name, pname))
                want = defs[etype].get("pattern")
                if want is not None and item.get("pattern") != want:
                    fail("%s.%s: pattern differs from %s" % (name, pname,
                                                            etype))
            elif pname == "div" and name == "Narrative":
                etype = "xhtml"
            else:
                fail("%s.%s: cannot type %r" % (name, pname, item))
            el = {"name": pname, "type": etype, "array": is_array}
            if (pname == "id" and not is_resource) or \
                    (name == "Extension" and pname == "url"):
                el["attr"] = True
            elements.append(el)
        types[name] = {"kind": kind, "elements": elements}

    # Every referenced complex type must be defined.
    for tname, t in types.items():
        for el in t["elements"]:
            if el["type"] not in types and el["type"] not in primitives \
                    and el["type"] != "Resource":
                fail("%s.%s: dangling type %s" % (tname, el["name"],
                                                  el["type"]))
    prim_table = {p: JSON_KIND.get(p, "string") for p in primitives}
    return prim_table, types


def check_order(types, prim, path):
    """Children of every element must follow the table's order."""
    errors = []

    def walk(node, tname, fpath):
        if tname in prim:
            tname = "Element"
        t = types.get(tname)
        if t is None:
            errors.append("%s: type %s not in table" % (fpath, tname))
            return
        index = {e["name"]: (i, e) for i, e in enumerate(t["elements"])}
        last = -1
        for child in node:
            if not isinstance(child.tag, str):
                continue  # comment or processing instruction
            if not child.tag.startswith(FHIR_NS):
                if child.tag == XHTML_NS + "div":
                    local = "div"
                else:
                    errors.append("%s: foreign element %s" % (fpath,
                                                              child.tag))
                    continue
            else:
                local = child.tag[len(FHIR_NS):]
            if local not in index:
                errors.append("%s.%s: unknown element" % (fpath, local))
                continue
            i, el = index[local]
            if i < last:
                errors.append("%s.%s: out of order" % (fpath, local))
            last = i
            if el["type"] == "Resource":
                for r in child:
                    if isinstance(r.tag, str):
                        rname = r.tag[len(FHIR_NS):]
                        walk(r, rname, fpath + "." + local)
            elif el["type"] != "xhtml":
                walk(child, el["type"], fpath + "." + local)

    count = 0
    for fname in sorted(os.listdir(path)):
        if not fname.endswith(".xml"):
            continue
        root = ET.parse(os.path.join(path, fname)).getroot()
        rname = root.tag[len(FHIR_NS):]
        walk(root, rname, fname + ":" + rname)
        count += 1
    if errors:
        fail("order check failed:\n  " + "\n  ".join(errors))
    sys.stderr.write("generate.py: element order verified on %d XML files\n"
                     % count)


def write(out_path, schema, prim, types):
    # One type per line: compact, and diffs stay readable.
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("{\n")
        f.write('"fhirVersion": "4.0.1",\n')
        f.write('"source": %s,\n' % json.dumps(
            "fhir.schema.json (%s), generated by schemas/fhir/r4/generate.py"
            % schema.get("id", "?")))
        f.write('"primitives": %s,\n' % json.dumps(prim, sort_keys=True))
        f.write('"types": {\n')
        names = sorted(types)
        for i, name in enumerate(names):
            f.write("%s: %s%s\n" % (json.dumps(name),
                                    json.dumps(types[name],
                                               separators=(",", ":")),
                                    "," if i + 1 < len(names) else ""))
        f.write("}\n}\n")


def main(argv):
    args = argv[1:]
    check_dir = None
    if "--check" in args:
        i = args.index("--check")
        if i + 1 >= len(args):
            fail("--check needs a directory")
        check_dir = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        fail("usage: generate.py fhir.schema.json types.json "
             "[--check XML_DIR]")
    with open(args[0], encoding="utf-8") as f:
        schema = json.load(f)
    prim, types = build(schema)
    if check_dir:
        check_order(types, prim, check_dir)
    write(args[1], schema, prim, types)
    nres = sum(1 for t in types.values() if t["kind"] == "resource")
    nel = sum(len(t["elements"]) for t in types.values())
    sys.stderr.write("generate.py: %d types (%d resources), %d elements\n"
                     % (len(types), nres, nel))


if __name__ == "__main__":
    main(sys.argv)
