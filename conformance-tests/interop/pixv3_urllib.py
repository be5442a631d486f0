"""An independent HL7 v3 PIX client on the Python standard library only (urllib, ElementTree).

Feeds one patient in two domains with ITI-44 Patient Registry Record Added, then sends ITI-45
PIXV3 queries (found, and an unknown domain) as SOAP 1.2 with WS-Addressing to the PIX manager's
endpoint, and prints a JSON summary of what it read back:

    {"feed": ["AA", "AA"],
     "pix": {"ack": "AA", "status": "OK", "ids": [[root, extension], ...], "details": []},
     "pix_unknown_domain": {"ack": "AE", "status": "AE", "ids": [], "details": ["204"]}}

Usage: pixv3_urllib.py --url URL --domain-a OID --domain-b OID
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
HL7 = "urn:hl7-org:v3"
NS = {"env": SOAP, "wsa": WSA, "hl7": HL7}

WRAPPER = """<{interaction} xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
<id root="1.2.3.99" extension="{message_id}"/><creationTime value="20260101120000"/>
<interactionId root="2.16.840.1.113883.1.6" extension="{interaction}"/>
<processingCode code="P"/><processingModeCode code="T"/><acceptAckCode code="AL"/>
<receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.99.1"/></device></receiver>
<sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.99.2"/></device></sender>
<controlActProcess classCode="CACT" moodCode="EVN">{control_act}</controlActProcess>
</{interaction}>"""

RECORD_ADDED = """<code code="PRPA_TE201301UV02" codeSystem="2.16.840.1.113883.1.6"/>
<subject typeCode="SUBJ"><registrationEvent classCode="REG" moodCode="EVN">
<id nullFlavor="NA"/><statusCode code="active"/>
<subject1 typeCode="SBJ"><patient classCode="PAT"><id root="{root}" extension="{extension}"/>
<statusCode code="active"/><patientPerson classCode="PSN" determinerCode="INSTANCE">
<name><given>HANNA</given><family>SCHMIDT</family></name>
<administrativeGenderCode code="F"/><birthTime value="19800214"/></patientPerson></patient></subject1>
<custodian typeCode="CST"><assignedEntity classCode="ASSIGNED"><id root="1.2.3.99"/></assignedEntity></custodian>
</registrationEvent></subject>"""

QUERY = """<code code="PRPA_TE201309UV02" codeSystem="2.16.840.1.113883.1.6"/>
<queryByParameter><queryId root="1.2.3.99.3" extension="{message_id}"/><statusCode code="new"/>
<responsePriorityCode code="I"/><parameterList>
<patientIdentifier><value root="{root}" extension="{extension}"/><semanticsText>Patient.id</semanticsText></patientIdentifier>
</parameterList></queryByParameter>"""


def post(url, interaction, control_act):
    action = "urn:hl7-org:v3:" + interaction
    body = WRAPPER.format(
        interaction=interaction, message_id=uuid.uuid4().hex, control_act=control_act
    )
    envelope = (
        '<env:Envelope xmlns:env="{soap}" xmlns:wsa="{wsa}"><env:Header>'
        '<wsa:Action env:mustUnderstand="true">{action}</wsa:Action>'
        "<wsa:MessageID>urn:uuid:{mid}</wsa:MessageID>"
        "<wsa:ReplyTo><wsa:Address>{wsa}/anonymous</wsa:Address></wsa:ReplyTo>"
        '<wsa:To env:mustUnderstand="true">{url}</wsa:To>'
        "</env:Header><env:Body>{body}</env:Body></env:Envelope>"
    ).format(soap=SOAP, wsa=WSA, action=action, mid=uuid.uuid4(), url=url, body=body)
    request = urllib.request.Request(
        url,
        data=envelope.encode("utf-8"),
        headers={
            "Content-Type": 'application/soap+xml; charset=UTF-8; action="%s"' % action
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return ET.fromstring(response.read())
    except urllib.error.HTTPError as error:
        sys.exit("HTTP %s from the PIX manager: %s" % (error.code, error.read()[:500]))


def ack_code(message):
    return message.find("hl7:acknowledgement/hl7:typeCode", NS).get("code")


def summarize_query(envelope):
    response = envelope.find("env:Body/hl7:PRPA_IN201310UV02", NS)
    ids = [
        [i.get("root"), i.get("extension")]
        for i in response.findall(
            "hl7:controlActProcess/hl7:subject/hl7:registrationEvent/hl7:subject1/hl7:patient/hl7:id",
            NS,
        )
    ]
    details = [
        d.find("hl7:code", NS).get("code")
        for d in response.findall("hl7:acknowledgement/hl7:acknowledgementDetail", NS)
    ]
    return {
        "ack": ack_code(response),
        "status": response.find(
            "hl7:controlActProcess/hl7:queryAck/hl7:queryResponseCode", NS
        ).get("code"),
        "ids": ids,
        "details": details,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--domain-a", required=True)
    parser.add_argument("--domain-b", required=True)
    args = parser.parse_args()
    feed = []
    for root, extension in ((args.domain_a, "HA1"), (args.domain_b, "HB1")):
        envelope = post(
            args.url,
            "PRPA_IN201301UV02",
            RECORD_ADDED.format(root=root, extension=extension),
        )
        feed.append(ack_code(envelope.find("env:Body/hl7:MCCI_IN000002UV01", NS)))
    pix = post(
        args.url,
        "PRPA_IN201309UV02",
        QUERY.format(root=args.domain_a, extension="HA1", message_id="Q1"),
    )
    unknown = post(
        args.url,
        "PRPA_IN201309UV02",
        QUERY.format(root="9.9.9.9", extension="HA1", message_id="Q2"),
    )
    print(
        json.dumps(
            {
                "feed": feed,
                "pix": summarize_query(pix),
                "pix_unknown_domain": summarize_query(unknown),
            }
        )
    )


if __name__ == "__main__":
    main()
