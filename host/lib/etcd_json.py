"""Reads etcd's JSON answers for the etcd-aws host scripts: etcd_json.py COMMAND ARGS < json.

etcdctl -w json prints member IDs as decimal uint64; `member remove` and `member promote` take
them in hex, so every ID printed here is hex. Python's int keeps all 64 bits (jq would not).

  local-id                 endpoint status: the ID of the member that answered
  member-ids any|both NAME URL
                           member list: IDs of members named NAME or (any) and (both) with
                           peer URL URL
  has-member ID            member list: exit 0 when member ID (hex) is listed
  voters EXCLUDED_ID       member list: "ID started|unstarted CLIENT_URLS" per voting member but one
  member-state PEER_URL    member list: "voter", "learner", "unstarted" or "absent" for the
                           member with peer URL PEER_URL (etcd refuses a second one)
  caught-up ENDPOINT MARGIN
                           endpoint status (every member): "APPLIED LEADER_APPLIED" of the member
                           at ENDPOINT and of its leader; exit 0 when it is at most MARGIN behind,
                           1 when further behind or its leader did not answer
  leader-handover OWN_ID VERSION MARGIN
                           endpoint status (every voting member): "follower" when member OWN_ID
                           (hex) does not lead; when it does, "move ID VERSION ENDPOINT" of the
                           voting member to hand leadership to: at most MARGIN applied entries
                           behind, one running VERSION first, then the furthest ahead; "none"
                           (exit 1) when no other member is caught up
  versions                 endpoint status: "ID VERSION" per member that answered
  cluster-version          etcd's /version: the cluster version (etcdcluster)
  gate PEER_URLS           member list: exit 0 when each of the comma-separated PEER_URLS is a
                           started voting member; prints "missing|learner|unstarted PEER_URL" for
                           each that is not, and "leaving NAME ID" for each member not listed
  alarms MEMBER_LIST       alarm list: "ALARM NAME ID" per raised alarm (ALARM NOSPACE, CORRUPT
                           or etcd's number; NAME from the member list JSON given as the argument,
                           "-" for a member not in it); nothing when none is raised
  defrag-plan MIN_BYTES MIN_FRACTION DONE_IDS
                           endpoint status (every member): "defrag|keep|done ID ENDPOINT DB_SIZE
                           IN_USE leader|follower" per member (the first entry of each), followers
                           first, the leader last; "defrag" when DB_SIZE - IN_USE is at least
                           MIN_BYTES and at least MIN_FRACTION of DB_SIZE, "done" for the members
                           in DONE_IDS (comma-separated hex)
  status-revision          endpoint status: the newest revision any member reported
  added NAME               member add: the new member's ID, then its ETCD_INITIAL_CLUSTER
  forming PEER_URL         peer /members: exit 0 when PEER_URL is listed as an initial member
                           that never started (no client URLs, not a learner), 1 otherwise
  has-role ROLE            user get: exit 0 when the user has ROLE
  role-changes PREFIX      role get: what makes the role's permissions exactly readwrite on the
                           keys under PREFIX (every key when empty): a line "revoke MODE KEY END"
                           per other permission (MODE prefix, from-key, key or range; etcdctl's
                           arguments), then "grant" when the wanted one is missing; fields are
                           separated by \x1f, so an empty key stays a field
  v2-value                 v2 keys API answer: the node's value (empty when none)
  snapshot-status          snapshot status: "HASH REVISION TOTAL_KEYS TOTAL_SIZE"
  downgrade-action TARGET  endpoint status (every member): what the downgrade API needs before
                           the members run release TARGET: "downgrade LINE" (TARGET's line is
                           older than the newest release a member runs; no downgrade to it is
                           enabled), "wait LINE" (one is enabled already), "cancel" (a downgrade
                           is enabled but TARGET is not older any more), "unsupported LINE" (older,
                           but the members run a release without the downgrade API, before 3.6)
                           or "none"
  storage-at LINE          endpoint status (every member): exit 0 when every member's storage
                           version is on LINE (e.g. 3.6); prints "ENDPOINT STORAGE_VERSION" ("-"
                           when it reports none) for each that is not
  largest-db               endpoint status: the largest database size (bytes) a member reported
  imds-credentials         IMDS security credentials: access key, secret key, session token
                           (one a line)
S3's XML answers (not JSON):
  s3-error                 error answer: "Code: Message"
  s3-expired PREFIX BEFORE ListObjectsV2 answer: the continuation token (URL-encoded; "-" on the
                           last page), then each key PREFIX<UTC timestamp>-rev<N>.db whose
                           timestamp (YYYYMMDDTHHMMSSZ) is earlier than BEFORE; no other key
"""
import base64
import json
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ElementTree


def hex_id(value):
    return format(int(value), "x")


def members(answer):
    return answer.get("members") or []


def local_id(answer):
    print(hex_id(answer[0]["Status"]["header"]["member_id"]))


def member_ids(answer, match, name, peer_url):
    for member in members(answer):
        named, reached = member.get("name") == name, peer_url in (member.get("peerURLs") or [])
        if (named and reached) if match == "both" else (named or reached):
            print(hex_id(member["ID"]))


def has_member(answer, wanted):
    return 0 if any(hex_id(m["ID"]) == wanted for m in members(answer)) else 1


def voters(answer, excluded):
    for member in members(answer):
        if hex_id(member["ID"]) == excluded or member.get("isLearner"):
            continue
        status = "started" if member.get("name") else "unstarted"
        print(hex_id(member["ID"]), status, ",".join(member.get("clientURLs") or []) or "-")


def started(member):
    return bool(member.get("name") and member.get("clientURLs"))


def state_of(member):
    if member is None:
        return "absent"
    if member.get("isLearner"):
        return "learner"
    return "voter" if started(member) else "unstarted"


def with_peer_url(answer, peer_url):
    return next((m for m in members(answer) if peer_url in (m.get("peerURLs") or [])), None)


def member_state(answer, peer_url):
    print(state_of(with_peer_url(answer, peer_url)))


def caught_up(answer, endpoint, margin):
    # etcdctl prints the members that answered (and fails for the others).
    statuses = {entry["Endpoint"]: entry["Status"] for entry in answer}
    local = statuses.get(endpoint)
    if local is None:
        print("- -")
        return 1
    by_id = {status["header"]["member_id"]: status for status in statuses.values()}
    leader = by_id.get(local["leader"])
    applied = local["raftAppliedIndex"]
    print(applied, leader["raftAppliedIndex"] if leader else "-")
    return 0 if leader and leader["raftAppliedIndex"] - applied <= int(margin) else 1


def leader_handover(answer, own_id, version, margin):
    own = next((e["Status"] for e in answer if hex_id(e["Status"]["header"]["member_id"]) == own_id), None)
    if own is None:
        raise ValueError(f"member {own_id} did not answer")
    if hex_id(own["leader"]) != own_id:
        print("follower")
        return 0
    candidates = [
        entry
        for entry in answer
        if entry["Status"] is not own
        and not entry["Status"].get("isLearner")
        and own["raftAppliedIndex"] - entry["Status"]["raftAppliedIndex"] <= int(margin)
    ]
    if not candidates:
        print("none")
        return 1
    best = max(candidates, key=lambda e: (e["Status"].get("version") == version, e["Status"]["raftAppliedIndex"]))
    status = best["Status"]
    print("move", hex_id(status["header"]["member_id"]), status.get("version") or "-", best["Endpoint"])
    return 0


def versions(answer):
    for entry in answer:
        print(hex_id(entry["Status"]["header"]["member_id"]), entry["Status"]["version"])


def cluster_version(answer):
    print(answer["etcdcluster"])


def gate(answer, peer_urls):
    wanted = [url for url in peer_urls.split(",") if url]
    listed = members(answer)
    ready = 0
    for url in wanted:
        state = state_of(with_peer_url(answer, url))
        if state == "voter":
            ready += 1
        else:
            print("missing" if state == "absent" else state, url)
    for member in listed:
        if not set(member.get("peerURLs") or []) & set(wanted):
            print("leaving", member.get("name") or "-", hex_id(member["ID"]))
    return 0 if ready == len(wanted) else 1


ALARM_NAMES = {1: "NOSPACE", 2: "CORRUPT"}


def alarms(answer, member_list):
    # etcdctl prints the alarm type as etcd's enum number; a newer one may print its name.
    names = {hex_id(m["ID"]): m.get("name") or "-" for m in members(json.loads(member_list))}
    for raised in answer.get("alarms") or []:
        kind = raised.get("alarm", 0)
        member = hex_id(raised.get("memberID", 0))
        print(ALARM_NAMES.get(kind, kind), names.get(member, "-"), member)


def defrag_plan(answer, min_bytes, min_fraction, done_ids):
    done = {entry for entry in done_ids.split(",") if entry}
    seen, followers, leaders = set(), [], []
    for entry in answer:
        status = entry["Status"]
        member = hex_id(status["header"]["member_id"])
        if member in seen:  # one member through two of its client URLs
            continue
        seen.add(member)
        size, in_use = status.get("dbSize", 0), status.get("dbSizeInUse", 0)
        wasted = size - in_use
        worth = wasted >= int(min_bytes) and wasted >= float(min_fraction) * size
        verdict = "done" if member in done else "defrag" if worth else "keep"
        leads = status.get("leader") == status["header"]["member_id"]
        line = f"{verdict} {member} {entry['Endpoint']} {size} {in_use} {'leader' if leads else 'follower'}"
        (leaders if leads else followers).append(line)
    for line in followers + leaders:
        print(line)


def status_revision(answer):
    print(max(int(entry["Status"]["header"]["revision"]) for entry in answer))


def added(answer, name):
    new_id = answer["member"]["ID"]
    # As etcdctl's own `member add` output: every member's peer URLs, the new one under NAME.
    initial = [
        f"{name if m['ID'] == new_id else m.get('name', '')}={url}"
        for m in members(answer)
        for url in m.get("peerURLs") or []
    ]
    if not initial:
        raise ValueError("the answer lists no members")
    print(hex_id(new_id))
    print(",".join(initial))


def forming(answer, peer_url):
    listed = [m for m in answer if peer_url in (m.get("peerURLs") or [])]
    if not listed or listed[0].get("clientURLs") or listed[0].get("isLearner"):
        return 1
    return 0


def has_role(answer, role):
    return 0 if role in (answer.get("roles") or []) else 1


READWRITE = 2
PERMISSION_TYPES = {"READ": 0, "WRITE": 1, "READWRITE": READWRITE}


def prefix_range_end(key):
    # As etcd's clientv3.GetPrefixRangeEnd: the first key after every key starting with `key`.
    end = bytearray(key)
    while end and end[-1] == 0xFF:
        end.pop()
    if not end:
        return b"\0"
    end[-1] += 1
    return bytes(end)


def wanted_range(prefix):
    # etcdctl stores `--from-key ''` (every key) as the range ["\0", "\0").
    key = prefix.encode()
    return (b"\0", b"\0") if not key else (key, prefix_range_end(key))


def argument(raw):
    text = raw.decode("ascii")
    if not text.isprintable():
        raise ValueError(f"a permission key etcdctl cannot be given: {raw!r}")
    return text


def revocation(key, end):
    if end == b"\0":
        return ["from-key", "" if key == b"\0" else argument(key), ""]
    if not end:
        return ["key", argument(key), ""]
    if end == prefix_range_end(key):
        return ["prefix", argument(key), ""]
    return ["range", argument(key), argument(end)]


def role_changes(answer, prefix):
    wanted = wanted_range(prefix)
    found = False
    for perm in answer.get("perm") or []:
        kind = perm.get("permType", 0)
        kind = PERMISSION_TYPES.get(kind, kind) if isinstance(kind, str) else kind
        given = (base64.b64decode(perm.get("key") or ""), base64.b64decode(perm.get("range_end") or ""))
        if given == wanted and kind == READWRITE and not found:
            found = True
        else:
            print("\x1f".join(["revoke", *revocation(*given)]))
    if not found:
        print("grant")


def v2_value(answer):
    print((answer.get("node") or {}).get("value", ""))


def snapshot_status(answer):
    print(answer["hash"], answer["revision"], answer["totalKey"], answer["totalSize"])


def release_line(version):
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def line_text(line):
    return f"{line[0]}.{line[1]}"


FIRST_DOWNGRADABLE = (3, 6)


def downgrade_action(answer, target):
    statuses = [entry["Status"] for entry in answer]
    newest = max(release_line(status["version"]) for status in statuses)
    wanted = release_line(target)
    enabled = [
        (status.get("downgradeInfo") or {}).get("targetVersion")
        for status in statuses
        if (status.get("downgradeInfo") or {}).get("enabled")
    ]
    if wanted >= newest:
        print("cancel" if enabled else "none")
    elif newest < FIRST_DOWNGRADABLE:
        print("unsupported", line_text(wanted))
    elif any(release_line(version) == wanted for version in enabled):
        print("wait", line_text(wanted))
    else:
        print("downgrade", line_text(wanted))


def storage_at(answer, line):
    behind = [
        (entry["Endpoint"], entry["Status"].get("storageVersion") or "-")
        for entry in answer
        if not (entry["Status"].get("storageVersion") or "").startswith(f"{line}.")
    ]
    for endpoint, storage in behind:
        print(endpoint, storage)
    return 1 if behind else 0


def largest_db(answer):
    print(max(entry["Status"]["dbSize"] for entry in answer))


def imds_credentials(answer):
    print(answer["AccessKeyId"])
    print(answer["SecretAccessKey"])
    print(answer.get("Token", ""))


def xml_children(element, name):
    # S3 answers carry a namespace (or none, from some servers): match the local name.
    return [child for child in element if child.tag.rsplit("}", 1)[-1] == name]


def xml_text(element, name):
    found = xml_children(element, name)
    return (found[0].text or "") if found else ""


def s3_error(answer):
    print(f"{xml_text(answer, 'Code')}: {xml_text(answer, 'Message')}")


def s3_expired(answer, prefix, before):
    # Only the names the backup gives: anything else under the prefix is not ours to delete.
    ours = re.compile(re.escape(prefix) + r"(\d{8}T\d{6}Z)-rev\d+\.db")
    token = xml_text(answer, "NextContinuationToken") if xml_text(answer, "IsTruncated") == "true" else ""
    print(urllib.parse.quote(token, safe="") or "-")
    for entry in xml_children(answer, "Contents"):
        match = ours.fullmatch(xml_text(entry, "Key"))
        if match and match.group(1) < before:
            print(match.group(0))


XML_COMMANDS = {
    "s3-error": s3_error,
    "s3-expired": s3_expired,
}

COMMANDS = {
    "local-id": local_id,
    "member-ids": member_ids,
    "has-member": has_member,
    "voters": voters,
    "member-state": member_state,
    "caught-up": caught_up,
    "leader-handover": leader_handover,
    "versions": versions,
    "cluster-version": cluster_version,
    "gate": gate,
    "alarms": alarms,
    "defrag-plan": defrag_plan,
    "status-revision": status_revision,
    "added": added,
    "forming": forming,
    "has-role": has_role,
    "role-changes": role_changes,
    "v2-value": v2_value,
    "snapshot-status": snapshot_status,
    "downgrade-action": downgrade_action,
    "storage-at": storage_at,
    "largest-db": largest_db,
    "imds-credentials": imds_credentials,
}


def main(argv):
    if len(argv) < 2 or argv[1] not in {**COMMANDS, **XML_COMMANDS}:
        sys.stderr.write(__doc__)
        return 2
    try:
        if argv[1] in XML_COMMANDS:
            return XML_COMMANDS[argv[1]](ElementTree.fromstring(sys.stdin.read()), *argv[2:]) or 0
        answer = json.load(sys.stdin)
        return COMMANDS[argv[1]](answer, *argv[2:]) or 0
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, ElementTree.ParseError) as error:
        sys.stderr.write(f"etcd_json {argv[1]}: unexpected answer: {error!r}\n")
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
