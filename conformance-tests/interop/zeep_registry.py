#!/usr/bin/env python3
"""Interop client of the XDS.b Document Registry built by zeep from the official WSDL.

An independent SOAP 1.2 stack (zeep) reads XDS.b_DocumentRegistry.wsdl, binds its
DocumentRegistry_Binding_Soap12 to the endpoint under test (WS-Addressing headers from the
WSDL's wsaw:Action), sends one transaction and prints a JSON summary of zeep's typed reading of
the answer on stdout:

    {"status": "urn:...:Success", "objects": 1, "object_ids": ["urn:uuid:..."],
     "object_kinds": ["ExtrinsicObject"], "untyped": [],
     "errors": [{"code": "...", "severity": "...", "context": "..."}]}

Modes:
  find-documents --patient CX [--status URN ...]
      ITI-18 Registry Stored Query FindDocuments (LeafClass); --status defaults to Approved,
      --no-status leaves $XDSDocumentEntryStatus out (a required parameter).
  register --submission FILE
      ITI-42 Register Document Set-b: the lcm:SubmitObjectsRequest in FILE is parsed into
      zeep's typed objects from the WSDL's schemas and sent through the WSDL operation.

Exit status: 0 when a response was received and summarised (whatever its status), 2 on a usage
error, 3 when zeep is not installed, 4 on a SOAP Fault or transport error (message on stderr).
"""

import argparse
import json
import sys

ZEEP_VERSION = "4.3.3"

try:
    import zeep
    import zeep.exceptions
    from lxml import etree
except ImportError as missing:
    sys.stderr.write(
        f"zeep_registry.py needs zeep: pip install zeep=={ZEEP_VERSION} ({missing})\n"
    )
    sys.exit(3)

XDS_B = "urn:ihe:iti:xds-b:2007"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RIM_OBJECT_LIST = f"{{{RIM}}}RegistryObjectList"
SOAP12_BODY = "{http://www.w3.org/2003/05/soap-envelope}Body"
BINDING = f"{{{XDS_B}}}DocumentRegistry_Binding_Soap12"
STORED_QUERY = "DocumentRegistry_RegistryStoredQuery"
REGISTER = "DocumentRegistry_RegisterDocumentSet-b"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"


class IdentifiablesPlugin(zeep.Plugin):
    """Writes rim:Identifiable substitutes (ExtrinsicObject, RegistryPackage, Association, ...)
    into the outgoing rim:RegistryObjectList.

    RegistryObjectListType is a sequence of `ref="rim:Identifiable"`, the head of a substitution
    group; zeep does not implement substitution groups, so it can only ever write an element
    named rim:Identifiable there. The SubmitObjectsRequest is therefore sent through the typed
    WSDL operation with an empty RegistryObjectList, and this egress plugin appends the
    objects that zeep's parser had to keep as raw elements.
    """

    def __init__(self):
        self.identifiables = []

    def egress(self, envelope, http_headers, operation, binding_options):
        if self.identifiables:
            path = f"{SOAP12_BODY}/{{{LCM}}}SubmitObjectsRequest/{RIM_OBJECT_LIST}"
            object_list = envelope.find(path)
            if object_list is None:
                raise ValueError("the serialized request has no rim:RegistryObjectList")
            object_list.extend(self.identifiables)
        return envelope, http_headers


def registry_client(wsdl, endpoint):
    """The WSDL's SOAP 1.2 binding bound to `endpoint`, WS-Addressing headers on.

    zeep's SOAP binding applies zeep.wsa.WsAddressingPlugin by itself to every operation whose
    portType input carries wsaw:Action, as both ITI-18 and ITI-42 do in this WSDL; listing the
    plugin in `plugins=` as well would write wsa:Action, wsa:MessageID and wsa:To twice (a
    duplicated wsa:Action is a Sender fault). Checked here so that a WSDL without the actions
    fails loudly instead of sending a request without WS-Addressing.

    Parsing is not strict: in strict mode zeep refuses every rim:Identifiable substitute in a
    RegistryObjectList ("Unexpected element ExtrinsicObject"); otherwise it keeps them as raw
    elements. Any other element zeep could not type is reported as "untyped" in the summary.
    """
    identifiables = IdentifiablesPlugin()
    client = zeep.Client(wsdl, settings=zeep.Settings(strict=False), plugins=[identifiables])
    service = client.create_service(BINDING, endpoint)
    binding = client.wsdl.bindings[BINDING]
    for operation in (STORED_QUERY, REGISTER):
        if not binding.get(operation).abstract.wsa_action:
            raise ValueError(f"{wsdl}: {operation} declares no wsaw:Action")
    return client, service, identifiables


def slot(name, values):
    """A rim:Slot. ValueListType repeats its sequence (maxOccurs on xsd:sequence, not on
    rim:Value), which zeep exposes as a list of {"Value": ...} under `_value_1`."""
    return {"name": name, "ValueList": {"_value_1": [{"Value": value} for value in values]}}


def find_documents(service, patient, statuses):
    """ITI-18 FindDocuments, LeafClass, through the WSDL operation with typed arguments."""
    slots = [slot("$XDSDocumentEntryPatientId", [f"'{patient}'"])]
    if statuses:
        quoted = ",".join(f"'{status}'" for status in statuses)
        slots.append(slot("$XDSDocumentEntryStatus", [f"({quoted})"]))
    return service[STORED_QUERY](
        ResponseOption={"returnType": "LeafClass", "returnComposedObjects": True},
        AdhocQuery={"id": FIND_DOCUMENTS, "Slot": slots},
    )


def register(client, service, identifiables, submission_path):
    """ITI-42: the SubmitObjectsRequest file parsed into the WSDL's types and sent through the
    WSDL operation; its rim:Identifiable substitutes travel through IdentifiablesPlugin."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.parse(submission_path, parser).getroot()
    if root.tag != f"{{{LCM}}}SubmitObjectsRequest":
        raise ValueError(f"{submission_path}: root is {root.tag}, not lcm:SubmitObjectsRequest")
    request = client.get_element(root.tag).parse(root, client.wsdl.types)
    untyped = untyped_paths(request, "SubmitObjectsRequest")
    if untyped:
        raise ValueError(f"{submission_path}: zeep could not type {', '.join(untyped)}")
    object_list = request.RegistryObjectList
    identifiables.identifiables = list(getattr(object_list, "_raw_elements", None) or [])
    arguments = {name: request[name] for name in request if request[name] is not None}
    arguments["RegistryObjectList"] = {}
    return service[REGISTER](**arguments)


def untyped_paths(value, path):
    """Elements zeep kept raw because the schema did not allow them, except the rim:Identifiable
    substitutes of a RegistryObjectList (see IdentifiablesPlugin)."""
    if isinstance(value, list):
        return [p for item in value for p in untyped_paths(item, path)]
    if not isinstance(value, zeep.xsd.CompoundValue):
        return []
    found = []
    raw = getattr(value, "_raw_elements", None) or []
    if not path.endswith("RegistryObjectList"):
        found += [f"{path}/{etree.QName(element).localname}" for element in raw]
    for name in value:
        found += untyped_paths(value[name], f"{path}/{name}")
    return found


def returned_objects(response):
    """(element name, id) of each RegistryObjectList child: the rim:Identifiable substitutes
    zeep kept raw (see registry_client)."""
    object_list = getattr(response, "RegistryObjectList", None)
    raw = getattr(object_list, "_raw_elements", None) or []
    return [(etree.QName(element).localname, element.get("id")) for element in raw]


def summary(response, root):
    """The JSON summary of a typed RegistryResponse or AdhocQueryResponse."""
    errors = []
    if response.RegistryErrorList is not None:
        for error in response.RegistryErrorList.RegistryError:
            errors.append(
                {"code": error.errorCode, "severity": error.severity, "context": error.codeContext}
            )
    objects = returned_objects(response)
    return {
        "status": response.status,
        "objects": len(objects),
        "object_ids": [object_id for _, object_id in objects],
        "object_kinds": [kind for kind, _ in objects],
        "errors": errors,
        "untyped": untyped_paths(response, root),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wsdl", required=True, help="path of XDS.b_DocumentRegistry.wsdl")
    parser.add_argument("--endpoint", required=True, help="registry SOAP endpoint URL")
    modes = parser.add_subparsers(dest="mode", required=True)
    find = modes.add_parser("find-documents", help="ITI-18 FindDocuments (LeafClass)")
    find.add_argument("--patient", required=True, help="patient id (CX)")
    statuses = find.add_mutually_exclusive_group()
    statuses.add_argument("--status", action="append", help="availability status URN")
    statuses.add_argument("--no-status", action="store_true", help="omit $XDSDocumentEntryStatus")
    submit = modes.add_parser("register", help="ITI-42 Register Document Set-b")
    submit.add_argument("--submission", required=True, help="lcm:SubmitObjectsRequest XML file")
    args = parser.parse_args()

    try:
        client, service, identifiables = registry_client(args.wsdl, args.endpoint)
        if args.mode == "find-documents":
            wanted = [] if args.no_status else (args.status or [APPROVED])
            response = find_documents(service, args.patient, wanted)
            root = "AdhocQueryResponse"
        else:
            response = register(client, service, identifiables, args.submission)
            root = "RegistryResponse"
    except zeep.exceptions.Fault as fault:
        sys.stderr.write(f"SOAP Fault from {args.endpoint}: {fault.code}: {fault.message}\n")
        sys.exit(4)
    except (zeep.exceptions.Error, OSError, ValueError, etree.XMLSyntaxError) as error:
        sys.stderr.write(f"{args.mode} against {args.endpoint} failed: {error!r}\n")
        sys.exit(4)
    json.dump(summary(response, root), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
