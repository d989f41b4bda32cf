#!/usr/bin/env bash
# Shared by the backup and restore scripts: the snapshot tool, and S3 requests signed by curl (--aws-sigv4), path-style
# against S3_ENDPOINT, with credentials from IMDSv2 (an EC2 instance profile) or, for tests and
# hand runs, from the environment. Errors name the request and S3's own code and message.
# Expects (besides lib/common.sh): S3_ENDPOINT (e.g. https://s3.eu-west-1.amazonaws.com), S3_REGION,
# S3_BUCKET, CREDENTIALS ("imds" or "environment": AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# optional AWS_SESSION_TOKEN), IMDS_URL (the instance metadata service; used only with "imds"), S3_CA_PEM (the CA of
# an endpoint the system does not trust, e.g. the local cloud's; empty: the system's CAs).

# The tool of `snapshot status|restore`: etcdutl from 3.5 on (3.6 dropped etcdctl's snapshot
# commands); 3.4 has only etcdctl.
snapshot_tool() {
    if command -v etcdutl >/dev/null 2>&1; then echo etcdutl; else echo etcdctl; fi
}

# scratch_dir BYTES: the directory for a snapshot of about BYTES while it is checked and sent:
# MEMORY_DIR (a tmpfs) when the snapshot takes at most half its free space and a quarter of the
# memory available, so that writing it never queues etcd's WAL fsyncs behind it on the disk (on
# EC2 the instance's EBS bandwidth is shared by its volumes); BACKUP_DIR on the data volume, which
# has room for one, otherwise.
scratch_dir() {
    local bytes=$1 free available
    if [ "$(stat -f -c %T "$MEMORY_DIR" 2>/dev/null)" = tmpfs ]; then
        free=$(df --output=avail -B1 "$MEMORY_DIR" | tail -n 1)
        available=$(awk '$1 == "MemAvailable:" { printf "%d", $2 * 1024 }' /proc/meminfo)
        if [ $((bytes * 2)) -le "${free:-0}" ] && [ $((bytes * 4)) -le "${available:-0}" ]; then
            echo "$MEMORY_DIR"
            return 0
        fi
    fi
    install -d -m 0700 "$BACKUP_DIR"
    echo "$BACKUP_DIR"
}

# The base64 of a hex digest: S3's x-amz-checksum-* headers carry the digest's bytes so.
hex_base64() {
    local hex=$1 escaped="" i
    for ((i = 0; i < ${#hex}; i += 2)); do escaped+="\\x${hex:i:2}"; done
    printf '%b' "$escaped" | base64
}

# SigV4 signs a hash of the body: requests without one sign the empty body's.
readonly EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3_access_key=""
s3_secret_key=""
s3_session_token=""

# The instance profile's temporary credentials through IMDSv2 (a session token first).
imds_credentials() {
    local token role answer
    token=$(curl -fsS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" "$IMDS_URL/latest/api/token") ||
        { log "IMDSv2 at $IMDS_URL gave no session token"; return 1; }
    role=$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$IMDS_URL/latest/meta-data/iam/security-credentials/") ||
        { log "the instance has no IAM role (IMDS lists no security credentials)"; return 1; }
    answer=$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
        "$IMDS_URL/latest/meta-data/iam/security-credentials/${role%%$'\n'*}") || return 1
    { read -r s3_access_key; read -r s3_secret_key; read -r s3_session_token; } < <(etcd_json imds-credentials <<<"$answer")
}

load_s3_credentials() {
    [ -z "$s3_access_key" ] || return 0
    case $CREDENTIALS in
    imds) imds_credentials ;;
    environment)
        s3_access_key=${AWS_ACCESS_KEY_ID:-}
        s3_secret_key=${AWS_SECRET_ACCESS_KEY:-}
        s3_session_token=${AWS_SESSION_TOKEN:-}
        ;;
    *) log "CREDENTIALS is \"$CREDENTIALS\": use imds or environment"; return 2 ;;
    esac
    if [ -z "$s3_access_key" ] || [ -z "$s3_secret_key" ]; then
        log "no S3 credentials (CREDENTIALS=$CREDENTIALS)"
        return 1
    fi
}

# s3_request METHOD KEY_AND_QUERY OUTPUT BODY_SHA256 [CURL_ARGS...]: one signed request for the
# object (or, with an empty key, the bucket) at KEY_AND_QUERY, whose body (a file given in
# CURL_ARGS) has the SHA-256 BODY_SHA256 ("-": no body); S3's answer goes to OUTPUT. Succeeds on a 2xx
# answer; otherwise logs S3's error code and message and fails. The credentials reach curl on a
# pipe, never on its command line.
s3_request() {
    local method=$1 target=$2 output=$3 body_sha256=$4 status
    shift 4
    [ "$body_sha256" != - ] || body_sha256=$EMPTY_SHA256
    load_s3_credentials || return 1
    local headers=(-H "x-amz-content-sha256: $body_sha256")
    [ -z "$s3_session_token" ] || headers+=(-H "x-amz-security-token: $s3_session_token")
    # The CA (when there is one) on curl's stdin, which the requests leave free (uploads name their file).
    [ -z "$S3_CA_PEM" ] || headers+=(--cacert /dev/stdin)
    if ! status=$(curl -sS --max-time 600 -X "$method" --aws-sigv4 "aws:amz:$S3_REGION:s3" \
        --config <(printf 'user = "%s:%s"\n' "$s3_access_key" "$s3_secret_key") \
        "${headers[@]}" "$@" -o "$output" -w '%{http_code}' "$S3_ENDPOINT/$S3_BUCKET/$target" <<<"$S3_CA_PEM"); then
        log "$method s3://$S3_BUCKET/$target: no answer from $S3_ENDPOINT"
        return 1
    fi
    if [[ $status != 2?? ]]; then
        log "$method s3://$S3_BUCKET/$target failed: HTTP $status $(etcd_json s3-error <"$output" 2>/dev/null || true)"
        return 1
    fi
}
