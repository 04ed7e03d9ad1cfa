#!/usr/bin/env python3
"""Acme Roster <-> Lingua: an external adapter over the bus protocol.

Acme Roster is a made-up staff rostering product. Its staff records look
like this (its REST API takes them at PUT /staff/{staffId}):

    {"staffId": "S-100", "surname": "Okafor", "forenames": ["Chidi"],
     "sex": "M", "dob": "1990-07-01", "email": "chidi@acme.example"}

Each one is a canonical `person` in Lingua. This adapter is what a vendor
writes: it needs only Python 3 and pyzmq (Debian: python3-zmq), and it
follows docs/bus.md and the contract the certification runner checks
(conformance/README.md, "external adapters"):

  LINGUA_BUS_ROUTER, LINGUA_BUS_PUB  the hub's sockets
  LINGUA_SYSTEM, LINGUA_ADAPTER      our system and instance name in the hub
  LINGUA_INBOX       inbound: Acme drops staff records (one JSON file each)
                     here; a file goes to done/ once the hub has stored it,
                     or error/<name>.err says why it was refused
  LINGUA_TARGET_URL  outbound: the Acme API; every person change that did
                     not come from Acme is PUT there

Run it against a real hub with the same variables; certify it with
  lingua conform --suite conformance/examples/acme-roster/suite \\
                 --adapter conformance/examples/acme-roster/adapter
"""
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import zmq

STAFF_SYSTEM = "urn:acme:roster:staff"
SEX_TO_GENDER = {"M": "male", "F": "female", "X": "other", "U": "unknown"}
GENDER_TO_SEX = {v: k for k, v in SEX_TO_GENDER.items()}
TIMEOUT_MS = 5000


class Refused(Exception):
    """A staff record the hub must not get: code, location (JSON pointer)."""

    def __init__(self, code, location, message):
        super().__init__(message)
        self.code, self.location, self.message = code, location, message


# ---- mapping ---------------------------------------------------------------

def staff_to_person(staff):
    """Acme staff record -> canonical person (schemas/canonical/person)."""
    if not isinstance(staff, dict):
        raise Refused("LX_EINVAL", "", "a staff record is a JSON object")
    sid = staff.get("staffId")
    if not isinstance(sid, str) or not sid:
        raise Refused("LX_EINVAL", "/staffId", "staffId is required")
    person = {"identifiers": [{"system": STAFF_SYSTEM, "value": sid}]}
    name = {}
    if "surname" in staff:
        name["family"] = staff["surname"]
    if staff.get("forenames"):
        name["given"] = list(staff["forenames"])
    if name:
        person["name"] = name
    if "sex" in staff:
        if staff["sex"] not in SEX_TO_GENDER:
            raise Refused("LX_EINVAL", "/sex",
                          "sex must be one of M, F, X, U")
        person["gender"] = SEX_TO_GENDER[staff["sex"]]
    if "dob" in staff:
        person["birth_date"] = staff["dob"]
    if staff.get("email"):
        person["contacts"] = [{"system": "email", "value": staff["email"]}]
    return sid, person


def person_to_staff(person):
    """Canonical person -> Acme staff record (what PUT /staff/{id} takes)."""
    ids = person.get("identifiers", [])
    sid = next((i["value"] for i in ids if i.get("system") == STAFF_SYSTEM),
               ids[0]["value"] if ids else None)
    staff = {"staffId": sid}
    name = person.get("name", {})
    if "family" in name:
        staff["surname"] = name["family"]
    if name.get("given"):
        staff["forenames"] = list(name["given"])
    if person.get("gender") in GENDER_TO_SEX:
        staff["sex"] = GENDER_TO_SEX[person["gender"]]
    if "birth_date" in person:
        staff["dob"] = person["birth_date"]
    email = next((c["value"] for c in person.get("contacts", [])
                  if c.get("system") == "email"), None)
    if email:
        staff["email"] = email
    return sid, staff


# ---- the hub's ROUTER (requests) -------------------------------------------

class Hub:
    def __init__(self, ctx, router):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(router)
        self.next_id = 0

    def call(self, command, body):
        """One request, its replies until the last (REPLAY streams EVENTs)."""
        self.next_id += 1
        rid = str(self.next_id).encode()
        self.sock.send_multipart([command.encode(), rid,
                                  json.dumps(body).encode()])
        replies = []
        while True:
            if not self.sock.poll(TIMEOUT_MS):
                raise TimeoutError(command + ": no answer from the hub")
            status, got, payload = self.sock.recv_multipart()
            if got != rid:
                continue  # a late answer to an earlier request
            status = status.decode()
            replies.append((status, json.loads(payload)))
            if status != "EVENT":
                return replies


# ---- inbound: the inbox ----------------------------------------------------

def refuse(inbox, name, code, location, message):
    err = os.path.join(inbox, "error", name + ".err")
    with open(err + ".part", "w") as f:
        json.dump({"code": code, "location": location, "message": message}, f)
    os.rename(err + ".part", err)
    os.remove(os.path.join(inbox, name))


def take_inbox(hub, inbox, system, adapter):
    for name in sorted(os.listdir(inbox)):
        path = os.path.join(inbox, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                staff = json.load(f)
        except ValueError as e:
            refuse(inbox, name, "LX_ESYNTAX",
                   "line %d column %d" % (e.lineno, e.colno), "not JSON")
            continue
        try:
            sid, person = staff_to_person(staff)
        except Refused as r:
            refuse(inbox, name, r.code, r.location, r.message)
            continue
        status, answer = hub.call("INGEST", {
            "entity": "person", "system": system, "adapter": adapter,
            "native_type": "Staff", "native_id": sid, "record": person})[-1]
        if status != "OK":
            # The hub located the problem in the canonical record.
            refuse(inbox, name, answer.get("code", "LX_EINVAL"),
                   answer.get("where", ""), answer.get("message", ""))
            continue
        # Acknowledge only now: the hub answered OK after its commit.
        os.rename(path, os.path.join(inbox, "done", name))


# ---- outbound: events to the Acme API --------------------------------------

def deliver(event, system, target):
    if event.get("entity") != "person":
        return
    if event.get("origin", {}).get("system") == system:
        return  # it came from Acme: sending it back would echo
    sid, staff = person_to_staff(event["record"])
    if not sid:
        return
    url = "%s/staff/%s" % (target, urllib.parse.quote(sid, safe=""))
    deleted = event.get("type", "").endswith(".deleted")
    req = urllib.request.Request(
        url, method="DELETE" if deleted else "PUT",
        data=None if deleted else json.dumps(staff).encode(),
        headers={"Content-Type": "application/json",
                 "X-Lingua-Event-Id": event.get("id", "")})
    urllib.request.urlopen(req, timeout=TIMEOUT_MS / 1000).read()


class Subscriber:
    """docs/bus.md, "A subscriber, step by step": SUB first, then REPLAY
    from last + 1; live events fill gaps by REPLAY; so do heartbeats."""

    def __init__(self, ctx, hub, pub, handle):
        self.hub, self.handle, self.last = hub, handle, 0
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.connect(pub)
        for prefix in (b"person.", b"_hub."):
            self.sub.setsockopt(zmq.SUBSCRIBE, prefix)

    def replay(self):
        while True:
            replies = self.hub.call("REPLAY", {"from": self.last + 1})
            for status, body in replies:
                if status == "EVENT":
                    self.take(body)
            status, end = replies[-1]
            if status != "END" or end["next"] > end["last_seq"]:
                return

    def take(self, event):
        if event["seq"] <= self.last:
            return
        # At least once: `last` moves only after Acme took the change; a
        # failed call is tried again from the next heartbeat's replay.
        self.handle(event)
        self.last = event["seq"]

    def poll(self, ms):
        try:
            self.poll_once(ms)
        except (urllib.error.URLError, OSError) as e:
            print("acme-roster: delivery failed, will retry: %s" % e,
                  file=sys.stderr, flush=True)
            time.sleep(0.2)

    def poll_once(self, ms):
        if not self.sub.poll(ms):
            return
        topic, payload = self.sub.recv_multipart()
        body = json.loads(payload)
        if topic.startswith(b"_hub."):
            if body.get("last_seq", 0) > self.last:
                self.replay()
        elif body["seq"] > self.last + 1:
            self.replay()
        else:
            self.take(body)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    env = os.environ
    system = env["LINGUA_SYSTEM"]
    adapter = env.get("LINGUA_ADAPTER", "acme-roster")
    inbox, target = env.get("LINGUA_INBOX"), env.get("LINGUA_TARGET_URL")
    ctx = zmq.Context()
    hub = Hub(ctx, env["LINGUA_BUS_ROUTER"])
    sub = None
    if target:
        sub = Subscriber(ctx, hub, env["LINGUA_BUS_PUB"],
                         lambda ev: deliver(ev, system, target.rstrip("/")))
        sub.replay()
    while True:
        if inbox:
            take_inbox(hub, inbox, system, adapter)
        if sub:
            sub.poll(20)
        else:
            time.sleep(0.02)


if __name__ == "__main__":
    main()
