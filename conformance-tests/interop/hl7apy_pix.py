#!/usr/bin/env python3
"""Interop client of the PIX manager built with hl7apy (an independent HL7 v2 stack).

Builds each message with hl7apy's v2.5 message structures, sends it over MLLP (one TCP
connection, 0x0B ... 0x1C 0x0D framing), parses every answer with hl7apy and prints a JSON
summary on stdout:

    {"feed": ["AA", "AA"], "pix": {"ack": "AA", "status": "OK", "ids": [[id, domain], ...]},
     "pix_unknown_domain": {"ack": "AE", "status": "AE", "error": "204"},
     "pdq": {"ack": "AA", "status": "OK", "ids": [[id, domain], ...]}}

Steps: ITI-8 ADT^A01 for the same patient in --domain-a and --domain-b, ITI-9 QBP^Q23 for the
--domain-a id, ITI-9 for an unknown domain, ITI-21 QBP^Q22 by surname and birth date.

Exit status: 0 when every answer was received and summarised, 3 when hl7apy is not installed,
4 on a transport or parse error (message on stderr).
"""

import argparse
import json
import socket
import sys

HL7APY_VERSION = "1.3.5"

try:
    from hl7apy.core import Message
    from hl7apy.parser import parse_message, parse_segment
except ImportError as missing:
    sys.stderr.write(f"hl7apy_pix.py needs hl7apy: pip install hl7apy=={HL7APY_VERSION} ({missing})\n")
    sys.exit(3)

START, END = b"\x0b", b"\x1c\x0d"


class Connection:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buffer = b""

    def exchange(self, message):
        self.sock.sendall(START + message.to_er7().encode("utf-8") + END)
        while END not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the answer")
            self.buffer += chunk
        frame, self.buffer = self.buffer.split(END, 1)
        text = frame.lstrip(START).decode("utf-8")
        return parse_message(text.replace("\n", "\r"), find_groups=False)


def header(message, control_id):
    message.msh.msh_3 = "HL7APY"
    message.msh.msh_4 = "INTEROP"
    message.msh.msh_5 = "HIE_PIX"
    message.msh.msh_6 = "HIE"
    message.msh.msh_10 = control_id
    message.msh.msh_11 = "P"


def adt_a01(control_id, patient_id, domain):
    m = Message("ADT_A01", version="2.5")
    header(m, control_id)
    m.msh.msh_9 = "ADT^A01^ADT_A01"
    m.evn.evn_2 = "20260101120000"
    m.pid.pid_3 = f"{patient_id}^^^&{domain}&ISO"
    m.pid.pid_5 = "INTEROP^HANNA"
    m.pid.pid_7 = "19660606"
    m.pid.pid_8 = "F"
    m.pv1.pv1_2 = "O"
    return m


def qbp(control_id, trigger, query_name, parameters):
    m = Message("QBP_Q21", version="2.5")
    header(m, control_id)
    m.msh.msh_9 = f"QBP^{trigger}^QBP_Q21"
    # QPD-3 is a varies field whose repetitions (ITI-21 parameters) hl7apy takes from ER7.
    m.add(parse_segment(f"QPD|{query_name}|TAG-{control_id}|{parameters}", version="2.5"))
    m.rcp.rcp_1 = "I"
    return m


def field(segment, name):
    return getattr(segment, name).to_er7() if segment is not None else ""


def segment(message, name):
    found = message.children.get(name) if hasattr(message.children, "get") else None
    if found:
        return found[0]
    for child in message.children:
        if child.name == name:
            return child
    return None


def summary(answer):
    msa = segment(answer, "MSA")
    qak = segment(answer, "QAK")
    err = segment(answer, "ERR")
    pids = [child for child in answer.children if child.name == "PID"]
    ids = []
    for pid in pids:
        for cx in pid.pid_3:
            parts = cx.to_er7().split("^")
            authority = parts[3].split("&") if len(parts) > 3 else []
            ids.append([parts[0], authority[1] if len(authority) > 1 else ""])
    result = {"ack": field(msa, "msa_1"), "status": field(qak, "qak_2"), "ids": ids}
    if err is not None:
        result["error"] = err.err_3.to_er7().split("^")[0]
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--domain-a", required=True)
    parser.add_argument("--domain-b", required=True)
    args = parser.parse_args()
    try:
        conn = Connection(args.host, args.port)
        feed = [
            field(segment(conn.exchange(adt_a01("F1", "HA1", args.domain_a)), "MSA"), "msa_1"),
            field(segment(conn.exchange(adt_a01("F2", "HB1", args.domain_b)), "MSA"), "msa_1"),
        ]
        pix = summary(conn.exchange(qbp("Q1", "Q23", "IHE PIX Query", f"HA1^^^&{args.domain_a}&ISO")))
        unknown = summary(conn.exchange(qbp("Q2", "Q23", "IHE PIX Query", "HA1^^^&9.9.9.9&ISO")))
        pdq = summary(conn.exchange(qbp("Q3", "Q22", "IHE PDQ Query", "@PID.5.1^INTEROP~@PID.7^19660606")))
    except Exception as error:  # noqa: BLE001 - any failure is reported with its cause
        sys.stderr.write(f"hl7apy_pix.py: {type(error).__name__}: {error}\n")
        sys.exit(4)
    print(json.dumps({"feed": feed, "pix": pix, "pix_unknown_domain": unknown, "pdq": pdq}))


if __name__ == "__main__":
    main()
