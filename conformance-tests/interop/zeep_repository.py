#!/usr/bin/env python3
"""Interop client of the XDS.b Document Repository built by zeep from the official WSDL.

An independent SOAP 1.2 stack (zeep) reads XDS.b_DocumentRepository.wsdl, binds its
DocumentRepository_Binding to the endpoint under test (WS-Addressing headers from the WSDL's
wsaw:Action), sends one transaction and prints a JSON summary of zeep's typed reading of the
answer on stdout:

    {"status": "urn:...:Success", "documents": [{"uniqueId": "...", "repositoryUniqueId": "...",
     "mimeType": "...", "sha1": "...", "size": 27}], "errors": [{"code": "...", ...}],
     "answer_content_type": "multipart/related; type=\"application/xop+xml\"; ..."}

Modes:
  provide --submission FILE --document ID=PATH [--document ...]
      ITI-41 Provide and Register Document Set-b: the lcm:SubmitObjectsRequest in FILE (its
      DocumentEntries' hash, size and repositoryUniqueId slots are left out: the repository
      fills them in) with the content of each PATH as the Document whose id is ID.
      zeep 4.3.3 cannot send MTOM/XOP (it only reads MTOM answers), so the documents travel
      inline as base64 in a plain SOAP 1.2 request, which ITI-41 allows.
  retrieve --repository OID --document UID [--document ...]
      ITI-43 Retrieve Document Set. The repository answers in MTOM; zeep resolves each
      xop:Include from its MIME part (zeep.wsdl.messages.xop) and types the answer.

Exit status: 0 when a response was received and summarised (whatever its status), 2 on a usage
error, 3 when zeep is not installed, 4 on a SOAP Fault or transport error (message on stderr).
"""

import argparse
import hashlib
import json
import sys

ZEEP_VERSION = "4.3.3"

try:
    import zeep
    import zeep.exceptions
    from lxml import etree
except ImportError as missing:
    sys.stderr.write(
        f"zeep_repository.py needs zeep: pip install zeep=={ZEEP_VERSION} ({missing})\n"
    )
    sys.exit(3)

XDS_B = "urn:ihe:iti:xds-b:2007"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
SOAP12_BODY = "{http://www.w3.org/2003/05/soap-envelope}Body"
BINDING = f"{{{XDS_B}}}DocumentRepository_Binding"
PROVIDE = "DocumentRepository_ProvideAndRegisterDocumentSet-b"
RETRIEVE = "DocumentRepository_RetrieveDocumentSet"
FILLED_BY_REPOSITORY = ("hash", "size", "repositoryUniqueId")


class IdentifiablesPlugin(zeep.Plugin):
    """Writes the rim:Identifiable substitutes (ExtrinsicObject, RegistryPackage, Association,
    ...) into the outgoing rim:RegistryObjectList, and records the answer's Content-Type.

    zeep does not implement substitution groups, so it can only write an element named
    rim:Identifiable in a RegistryObjectList; the request goes through the typed WSDL operation
    with an empty list and this egress plugin appends the objects (as in zeep_registry.py).
    """

    def __init__(self):
        self.identifiables = []
        self.answer_content_type = None

    def egress(self, envelope, http_headers, operation, binding_options):
        if self.identifiables:
            path = (
                f"{SOAP12_BODY}/{{{XDS_B}}}ProvideAndRegisterDocumentSetRequest"
                f"/{{{LCM}}}SubmitObjectsRequest/{{{RIM}}}RegistryObjectList"
            )
            object_list = envelope.find(path)
            if object_list is None:
                raise ValueError("the serialized request has no rim:RegistryObjectList")
            object_list.extend(self.identifiables)
        return envelope, http_headers

    def ingress(self, envelope, http_headers, operation):
        self.answer_content_type = http_headers.get("Content-Type")
        return envelope, http_headers


def repository_client(wsdl, endpoint):
    """The WSDL's SOAP 1.2 binding bound to `endpoint`; WS-Addressing comes from the WSDL's
    wsaw:Action (zeep applies its WsAddressingPlugin by itself; checked here)."""
    plugin = IdentifiablesPlugin()
    client = zeep.Client(wsdl, settings=zeep.Settings(strict=False), plugins=[plugin])
    service = client.create_service(BINDING, endpoint)
    binding = client.wsdl.bindings[BINDING]
    for operation in (PROVIDE, RETRIEVE):
        if not binding.get(operation).abstract.wsa_action:
            raise ValueError(f"{wsdl}: {operation} declares no wsaw:Action")
    return client, service, plugin


def provide(client, service, plugin, submission_path, documents):
    """ITI-41: the SubmitObjectsRequest parsed into the WSDL's types, documents inline."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.parse(submission_path, parser).getroot()
    if root.tag != f"{{{LCM}}}SubmitObjectsRequest":
        raise ValueError(f"{submission_path}: root is {root.tag}, not lcm:SubmitObjectsRequest")
    for extrinsic in root.iter(f"{{{RIM}}}ExtrinsicObject"):
        for slot in list(extrinsic.findall(f"{{{RIM}}}Slot")):
            if slot.get("name") in FILLED_BY_REPOSITORY:
                extrinsic.remove(slot)
    submit = client.get_element(root.tag).parse(root, client.wsdl.types)
    plugin.identifiables = list(getattr(submit.RegistryObjectList, "_raw_elements", None) or [])
    arguments = {name: submit[name] for name in submit if submit[name] is not None}
    arguments["RegistryObjectList"] = {}
    content = []
    for spec in documents:
        document_id, _, path = spec.partition("=")
        if not path:
            raise ValueError(f"--document {spec!r} is not ID=PATH")
        with open(path, "rb") as f:
            content.append({"id": document_id, "_value_1": f.read()})
    return service[PROVIDE](SubmitObjectsRequest=arguments, Document=content)


def retrieve(service, repository, documents):
    """ITI-43 through the WSDL operation with typed arguments."""
    return service[RETRIEVE](
        DocumentRequest=[
            {"RepositoryUniqueId": repository, "DocumentUniqueId": uid} for uid in documents
        ]
    )


def registry_response(response):
    """The typed rs:RegistryResponse inside an answer (ITI-41 answers one directly)."""
    return getattr(response, "RegistryResponse", None) or response


def summary(response, answer_content_type):
    typed = registry_response(response)
    errors = []
    if typed.RegistryErrorList is not None:
        for error in typed.RegistryErrorList.RegistryError:
            errors.append(
                {
                    "code": error.errorCode,
                    "severity": error.severity,
                    "location": error.location,
                    "context": error.codeContext,
                }
            )
    documents = []
    for document in getattr(response, "DocumentResponse", None) or []:
        content = document.Document or b""
        documents.append(
            {
                "uniqueId": document.DocumentUniqueId,
                "repositoryUniqueId": document.RepositoryUniqueId,
                "mimeType": document.mimeType,
                "sha1": hashlib.sha1(content).hexdigest(),
                "size": len(content),
            }
        )
    return {
        "status": typed.status,
        "documents": documents,
        "errors": errors,
        "answer_content_type": answer_content_type,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wsdl", required=True, help="path of XDS.b_DocumentRepository.wsdl")
    parser.add_argument("--endpoint", required=True, help="repository SOAP endpoint URL")
    modes = parser.add_subparsers(dest="mode", required=True)
    put = modes.add_parser("provide", help="ITI-41 Provide and Register Document Set-b")
    put.add_argument("--submission", required=True, help="lcm:SubmitObjectsRequest XML file")
    put.add_argument("--document", action="append", required=True, help="ID=PATH")
    get = modes.add_parser("retrieve", help="ITI-43 Retrieve Document Set")
    get.add_argument("--repository", required=True, help="repositoryUniqueId")
    get.add_argument("--document", action="append", required=True, help="document uniqueId")
    args = parser.parse_args()

    try:
        client, service, plugin = repository_client(args.wsdl, args.endpoint)
        if args.mode == "provide":
            response = provide(client, service, plugin, args.submission, args.document)
        else:
            response = retrieve(service, args.repository, args.document)
    except zeep.exceptions.Fault as fault:
        sys.stderr.write(f"SOAP Fault from {args.endpoint}: {fault.code}: {fault.message}\n")
        sys.exit(4)
    except (zeep.exceptions.Error, OSError, ValueError, etree.XMLSyntaxError) as error:
        sys.stderr.write(f"{args.mode} against {args.endpoint} failed: {error!r}\n")
        sys.exit(4)
    json.dump(summary(response, plugin.answer_content_type), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
