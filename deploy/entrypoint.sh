#!/bin/sh
# s3-resign configured the way the Python proxy was: by environment variables alone.
#
# Checks the variables, renders Envoy's configuration from them and runs Envoy with the
# filter, stopping it gracefully on SIGTERM. The configuration goes to Envoy on its command line (--config-yaml), and it holds
# no secret: the filter runs with an empty configuration and reads the variables itself from
# its VM environment, which Envoy fills from its own (host_env_keys). Nothing is written to
# disk, except a CA bundle when ORIGIN_CA_FILE is set (certificates, not secrets) and, when
# TLS_CERT_FILE is, an SDS file naming the certificate and key files (paths, not their contents).
#
# The Python proxy's variables (README.md, "Migrating from the Python proxy"):
#   CLIENT_ACCESS_KEY, CLIENT_SECRET_KEY   the key pair clients sign with (required)
#   ORIGIN_ACCESS_KEY, ORIGIN_SECRET_KEY   the pair to re-sign with (default: the client's)
#   ORIGIN_DOMAIN                          the origin's host or host:port (required)
#   ORIGIN_SCHEME                          https (default) or http
#   AWS_REGION                             the region to sign for at the origin (default: the client's)
#   PORT                                   the port clients connect to (default 8080)
#   PUBLIC_DOMAINS                         the host names clients use, comma-separated (required)
#   LOG_LEVEL                              trace, debug, info (default), warn[ing], error, critical
#   ORIGIN_CA_FILE                         a PEM file of CAs to trust besides the system's
#   ORIGIN_ADDRESSING                      path (default), virtual or preserve (origin_addressing)
#   ORIGIN_SIGNATURE_VERSION               same (default) or v4 (origin_signature_version)
#   ERROR_CORS_ORIGINS                     web origins that may read the filter's refusals (error_cors_origins)
#   RESERVED_BUCKETS                       bucket names refused, comma-separated (reserved_buckets)
#   UNSUPPORTED_OPERATIONS                 S3 operations the origin lacks, answered 501 (unsupported_operations)
#   TRUSTED_PROXY_HOPS                     load balancers in front that append to X-Forwarded-For (0)
#   TRUSTED_PROXY_CIDRS                    their addresses: other clients' X-Forwarded-For is not taken
# and of this image (defaults suit it; the tests set them to run the same script natively):
#   METRICS_PORT      Prometheus metrics and readiness, GET /stats/prometheus and /ready (9901)
#   ADMIN_PORT        Envoy's admin interface, on 127.0.0.1 only (9902)
#   BIND_ADDRESS      the address the listeners bind (0.0.0.0)
#   ENVOY_BIN         the Envoy binary (envoy)
#   S3_RESIGN_WASM    the filter (/usr/local/lib/s3-resign/s3_resign.wasm)
#   SYSTEM_CA_FILE    the system's CA bundle (/etc/ssl/certs/ca-certificates.crt)
#   DRAIN_SECONDS     how long requests in flight may take to finish after SIGTERM (8)
#   TLS_CERT_FILE     a PEM certificate chain: PORT then speaks HTTPS (h2 and http/1.1), with
#   TLS_KEY_FILE      its private key (PEM, no passphrase); both or neither (plain HTTP)
# Arguments are passed on to Envoy (for example --concurrency 2).
set -eu

fail() {
    printf 's3-resign: %s\n' "$*" >&2
    exit 64
}

value() { eval "printf '%s' \"\${$1:-}\""; }

required() {
    [ -n "$(value "$1")" ] || fail "$1 is not set: $2"
}

# A TCP port, 1 to 65535: `port WHAT VALUE`; prints it.
port() {
    case $2 in
        '' | *[!0-9]* | 0*) fail "$1 must be a port number from 1 to 65535, not '$2'" ;;
    esac
    [ "${#2}" -le 5 ] && [ "$2" -le 65535 ] || fail "$1 must be a port number from 1 to 65535, not '$2'"
    printf '%s' "$2"
}

# A value that goes into the YAML between double quotes: `plain NAME VALUE`.
plain() {
    # Control characters too: YAML folds a carriage return into a space, so Envoy would read
    # another path than the one checked here (a review found it, 2026-12-02).
    case $2 in
        *[\\\"]* | *[[:cntrl:]]*) fail "$1 must not contain quotes, backslashes or control characters (line breaks, tabs)" ;;
    esac
}

# -- the Python proxy's variables --------------------------------------------------------

# The client pair: CLIENT_* (or the Python proxy's older single pair AWS_ACCESS_KEY/AWS_SECRET_KEY).
if [ -n "${CLIENT_ACCESS_KEY:-}${CLIENT_SECRET_KEY:-}" ] || [ -z "${AWS_ACCESS_KEY:-}${AWS_SECRET_KEY:-}" ]; then
    required CLIENT_ACCESS_KEY "the access key id clients sign with"
    required CLIENT_SECRET_KEY "the secret key clients sign with"
else
    required AWS_ACCESS_KEY "the access key id clients sign with"
    required AWS_SECRET_KEY "the secret key clients sign with"
fi
if [ -n "${ORIGIN_ACCESS_KEY:-}" ] && [ -z "${ORIGIN_SECRET_KEY:-}" ]; then
    fail "ORIGIN_SECRET_KEY is not set: ORIGIN_ACCESS_KEY needs its secret key"
fi
if [ -z "${ORIGIN_ACCESS_KEY:-}" ] && [ -n "${ORIGIN_SECRET_KEY:-}" ]; then
    fail "ORIGIN_ACCESS_KEY is not set: ORIGIN_SECRET_KEY needs its access key id"
fi

required PUBLIC_DOMAINS "name the host(s) clients reach the proxy by, comma-separated, e.g. s3.mydomain.com"
case $PUBLIC_DOMAINS in
    *://* | */*) fail "PUBLIC_DOMAINS must list host names (host or host:port), not URLs: '$PUBLIC_DOMAINS'" ;;
esac
case $(printf '%s' "$PUBLIC_DOMAINS" | tr -d ', ') in
    '') fail "PUBLIC_DOMAINS names no host" ;;
esac

scheme=$(printf '%s' "${ORIGIN_SCHEME:-https}" | tr '[:upper:]' '[:lower:]')
case $scheme in
    http) default_port=80 ;;
    https) default_port=443 ;;
    *) fail "ORIGIN_SCHEME must be https or http, not '${ORIGIN_SCHEME}'" ;;
esac

required ORIGIN_DOMAIN "the origin's host name (or host:port), e.g. s3.example.com"
origin=$ORIGIN_DOMAIN
case $origin in
    *://*) fail "ORIGIN_DOMAIN must be a host or host:port, not a URL: '$origin' (the scheme goes in ORIGIN_SCHEME)" ;;
    \[*\]) origin_host=${origin#\[}; origin_host=${origin_host%\]}; origin_port=$default_port ;;
    \[*\]:*) origin_host=${origin#\[}; origin_host=${origin_host%%\]*}; origin_port=${origin##*\]:} ;;
    *:*:*) fail "ORIGIN_DOMAIN: write an IPv6 address in brackets, [addr] or [addr]:port, not '$origin'" ;;
    *:*) origin_host=${origin%:*}; origin_port=${origin##*:} ;;
    *) origin_host=$origin; origin_port=$default_port ;;
esac
case $origin in
    \[*) case $origin_host in
             '' | *[!0-9A-Fa-f:.]*) fail "ORIGIN_DOMAIN must be a host or host:port, not '$origin'" ;;
         esac
         ip_origin=yes ;;
    *) case $origin_host in
           '' | .* | *. | *..* | *[!A-Za-z0-9.-]*) fail "ORIGIN_DOMAIN must be a host or host:port, not '$origin'" ;;
           *[!0-9.]*) ip_origin=no ;;
           *) ip_origin=yes ;;
       esac ;;
esac
origin_port=$(port "ORIGIN_DOMAIN's port" "$origin_port") || exit 64

if [ -n "${AWS_REGION:-}" ]; then
    case $AWS_REGION in
        *[!A-Za-z0-9_-]*) fail "AWS_REGION must be a region name such as us-east-1, not '$AWS_REGION'" ;;
    esac
fi

listen_port=$(port PORT "${PORT:-8080}") || exit 64

# Load balancers in front that append the client's address to X-Forwarded-For (Envoy then
# takes the address that many hops back as the client's, for the origin). Without
# TRUSTED_PROXY_CIDRS, PORT must be reachable through them only: a client reaching it directly
# chooses that address. With it, only connections from those addresses are taken at their word;
# any other client is its own address, as with 0 hops.
trusted_cidrs=${TRUSTED_PROXY_CIDRS:-}
[ -z "$trusted_cidrs" ] && default_hops=0 || default_hops=1
trusted_hops=${TRUSTED_PROXY_HOPS:-$default_hops}
case $trusted_hops in
    # No leading zero: YAML reads 010 as octal.
    '' | *[!0-9]* | 0?* | ?????*) fail "TRUSTED_PROXY_HOPS must be a small number of load balancers, not '$trusted_hops'" ;;
esac

# The eight groups of an IPv6 address written in hex, `::` expanded, space-separated; fails on
# any other form.
ipv6_groups() (
    case $1 in
        *[!0-9A-Fa-f:]* | *:::* | *::*::* | :[!:]* | *[!:]:) exit 1 ;;
        *::*) head=${1%%::*} tail=${1#*::} ;;
        *) head=$1 tail="" ;;
    esac
    IFS=:
    groups="" n=0
    for group in $head; do
        case $group in '' | ?????*) exit 1 ;; esac
        groups="$groups $group" n=$((n + 1))
    done
    rest=""
    for group in $tail; do
        case $group in '' | ?????*) exit 1 ;; esac
        rest="$rest $group" n=$((n + 1))
    done
    case $1 in
        *::*)
            [ "$n" -le 7 ] || exit 1
            while [ "$n" -lt 8 ]; do groups="$groups 0" n=$((n + 1)); done
            ;;
        *) [ "$n" -eq 8 ] || exit 1 ;;
    esac
    printf '%s\n' "$groups$rest"
)

# Whether an address has no bit set past its prefix: `host_bits_clear PREFIX WIDTH FIELD...`,
# the fields WIDTH bits each, as shell arithmetic reads them.
host_bits_clear() {
    bits=$1 width=$2
    shift 2
    for field; do
        if [ "$bits" -ge "$width" ]; then
            bits=$((bits - width))
            continue
        fi
        [ $((field % (1 << (width - bits)))) -eq 0 ] || return 1
        bits=0
    done
}

# An address or CIDR range for TRUSTED_PROXY_CIDRS (192.0.2.7, 10.0.0.0/8, 2001:db8::/32):
# prints a key that is the same for every spelling of one range (Envoy refuses a range given
# twice, naming no variable), a space, and the range as Envoy's CidrRange. Fails (1) on what is
# no address or range, and on a range with bits set past its prefix (10.0.0.5/8 reads as one
# host and would trust the whole /8); fails (2) on a prefix of 0, which trusts every client.
cidr_range() (
    address=${1%/*}
    length=${1#"$address"}
    length=${length#/}
    case $address in
        *:*)
            max=128 width=16 separator=:
            groups=$(ipv6_groups "$address") || exit 1
            fields=""
            for group in $groups; do fields="$fields $((0x$group))"; done
            ;;
        *.*.*.*)
            max=32 width=8 separator=.
            case $address in *[!0-9.]* | *..* | .* | *.) exit 1 ;; esac
            fields=$(
                IFS=.
                # shellcheck disable=SC2086 # split on the dots, digits only
                set -- $address
                [ $# -eq 4 ] || exit 1
                for octet; do
                    case $octet in 0?* | ????*) exit 1 ;; esac
                    [ "$octet" -le 255 ] || exit 1
                done
                printf '%s ' "$@"
            ) || exit 1
            ;;
        *) exit 1 ;;
    esac
    case $1 in */*) ;; *) length=$max ;; esac
    case $length in '' | *[!0-9]* | 0?* | ????*) exit 1 ;; esac
    [ "$length" -le "$max" ] || exit 1
    [ "$length" -gt 0 ] || exit 2
    # shellcheck disable=SC2086 # the fields, one argument each
    host_bits_clear "$length" "$width" $fields || exit 1
    # shellcheck disable=SC2086
    key=$(printf "%s$separator" $fields)
    printf '%s/%s { address_prefix: "%s", prefix_len: %s }' "$key" "$length" "$address" "$length"
)

# The balancers' ranges, from TRUSTED_PROXY_CIDRS: comma-separated, white space around each
# ignored, and empty items too (a trailing comma, a YAML block's last line break).
trusted_ranges=""
if [ -n "$trusted_cidrs" ]; then
    [ "$trusted_hops" -ge 1 ] \
        || fail "TRUSTED_PROXY_CIDRS names load balancers that append to X-Forwarded-For: TRUSTED_PROXY_HOPS must be 1 or more with it, not $trusted_hops"
    keys=" "
    old_ifs=$IFS
    IFS=,
    set -f
    for item in $trusted_cidrs; do
        IFS=$old_ifs
        item=${item#"${item%%[![:space:]]*}"}
        item=${item%"${item##*[![:space:]]}"}
        [ -n "$item" ] || continue
        if parsed=$(cidr_range "$item"); then
            key=${parsed%% *}
            case $keys in *" $key "*) fail "TRUSTED_PROXY_CIDRS lists '$item' twice (as another spelling, perhaps)" ;; esac
            keys="$keys$key "
            trusted_ranges="$trusted_ranges${trusted_ranges:+, }${parsed#* }"
        elif [ $? -eq 2 ]; then
            fail "TRUSTED_PROXY_CIDRS: '$item' would trust every client; for that, set TRUSTED_PROXY_HOPS alone"
        else
            fail "TRUSTED_PROXY_CIDRS must list addresses or CIDR ranges (10.0.0.0/8, 2001:db8::/32; no bit set past the prefix), comma-separated, not '$item'"
        fi
    done
    IFS=$old_ifs
    set +f
    [ -n "$trusted_ranges" ] || fail "TRUSTED_PROXY_CIDRS lists no address: '$trusted_cidrs'"
fi

# Envoy logs at info (or above, when asked), its wasm component (the filter) at LOG_LEVEL.
level=$(printf '%s' "${LOG_LEVEL:-info}" | tr '[:upper:]' '[:lower:]')
case $level in
    trace | debug | info) envoy_level=info; wasm_level=$level; filter_level=$level ;;
    warn | warning) envoy_level=warning; wasm_level=warning; filter_level=warn ;;
    error) envoy_level=error; wasm_level=error; filter_level=error ;;
    critical) envoy_level=critical; wasm_level=critical; filter_level=error ;;
    *) fail "LOG_LEVEL must be trace, debug, info, warn, warning, error or critical, not '${LOG_LEVEL}'" ;;
esac
# What the filter reads (it knows trace, debug, info, warn and error).
LOG_LEVEL=$filter_level
export LOG_LEVEL

# -- this image's own settings -------------------------------------------------------------

metrics_port=$(port METRICS_PORT "${METRICS_PORT:-9901}") || exit 64
admin_port=$(port ADMIN_PORT "${ADMIN_PORT:-9902}") || exit 64
[ "$admin_port" != "$metrics_port" ] && [ "$admin_port" != "$listen_port" ] && [ "$metrics_port" != "$listen_port" ] \
    || fail "PORT, METRICS_PORT and ADMIN_PORT must differ ($listen_port, $metrics_port, $admin_port)"
bind=${BIND_ADDRESS:-0.0.0.0}
case ${DRAIN_SECONDS:-8} in
    '' | *[!0-9]*) fail "DRAIN_SECONDS must be a whole number of seconds, not '${DRAIN_SECONDS}'" ;;
esac
drain_seconds=${DRAIN_SECONDS:-8}
[ "${#drain_seconds}" -le 4 ] || fail "DRAIN_SECONDS must be at most 9999, not '$drain_seconds'"
case $bind in
    '' | *[!0-9A-Fa-f:.]*) fail "BIND_ADDRESS must be an IP address, not '$bind'" ;;
esac
envoy=${ENVOY_BIN:-envoy}
wasm=${S3_RESIGN_WASM:-/usr/local/lib/s3-resign/s3_resign.wasm}
plain S3_RESIGN_WASM "$wasm"
[ -r "$wasm" ] || fail "S3_RESIGN_WASM: cannot read the filter at $wasm"
system_cas=${SYSTEM_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}
plain SYSTEM_CA_FILE "$system_cas"
plain TMPDIR "${TMPDIR:-/tmp}"

# The variables the filter reads, as Envoy hands them to its VM: names only, never values.
env_keys=""
for name in PUBLIC_DOMAINS ORIGIN_DOMAIN AWS_REGION CLIENT_ACCESS_KEY CLIENT_SECRET_KEY \
    AWS_ACCESS_KEY AWS_SECRET_KEY ORIGIN_ACCESS_KEY ORIGIN_SECRET_KEY LOG_LEVEL \
    ORIGIN_ADDRESSING ORIGIN_SIGNATURE_VERSION ERROR_CORS_ORIGINS RESERVED_BUCKETS \
    UNSUPPORTED_OPERATIONS; do
    [ -z "$(value "$name")" ] || env_keys="$env_keys${env_keys:+, }$name"
done

# -- the origin cluster's transport ---------------------------------------------------------

transport=""
if [ "$scheme" = https ]; then
    trusted=$system_cas
    if [ -n "${ORIGIN_CA_FILE:-}" ]; then
        [ -r "$ORIGIN_CA_FILE" ] && [ -f "$ORIGIN_CA_FILE" ] || fail "ORIGIN_CA_FILE: cannot read $ORIGIN_CA_FILE"
        grep -q -- '-----BEGIN CERTIFICATE-----' "$ORIGIN_CA_FILE" \
            || fail "ORIGIN_CA_FILE: $ORIGIN_CA_FILE holds no PEM certificate"
        # Envoy trusts one bundle: the system's CAs and these.
        bundle_dir=$(mktemp -d "${TMPDIR:-/tmp}/s3-resign.XXXXXX") || fail "ORIGIN_CA_FILE: cannot write the CA bundle under ${TMPDIR:-/tmp}"
        trusted=$bundle_dir/origin-cas.pem
        { [ ! -r "$system_cas" ] || cat "$system_cas"; echo; cat "$ORIGIN_CA_FILE"; } > "$trusted"
    else
        [ -r "$system_cas" ] || fail "SYSTEM_CA_FILE: cannot read the system's CA bundle at $system_cas (set ORIGIN_CA_FILE)"
    fi
    if [ "$ip_origin" = yes ]; then
        sni=""
        san="{ san_type: IP_ADDRESS, matcher: { exact: \"$origin_host\" } }"
    else
        sni="sni: \"$origin_host\""
        san="{ san_type: DNS, matcher: { exact: \"$origin_host\" } }"
    fi
    transport="
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
          $sni
          common_tls_context:
            validation_context:
              trusted_ca: { filename: \"$trusted\" }
              match_typed_subject_alt_names: [ $san ]"
elif [ -n "${ORIGIN_CA_FILE:-}" ]; then
    fail "ORIGIN_CA_FILE is set but ORIGIN_SCHEME is http: the origin is not reached over TLS"
fi

# -- the public listener's transport --------------------------------------------------------

# With TLS_CERT_FILE and TLS_KEY_FILE, PORT speaks HTTPS: h2 and http/1.1 offered by ALPN (so Go,
# Rust and curl clients speak HTTP/2; Envoy still speaks HTTP/1.1 to the origin), TLS 1.2 at
# least. Envoy reads the pair through SDS from a file here that names them (paths, never the
# key), and so watches their directories: a pair renamed into place (a Kubernetes Secret
# updated, `mv`) is served from the next handshake on, with no restart (a pair written in the
# listener itself would be read once, at the start).
listener_scheme=http
listener_transport=""
node=""
if [ -n "${TLS_CERT_FILE:-}${TLS_KEY_FILE:-}" ]; then
    required TLS_CERT_FILE "TLS_KEY_FILE needs the certificate chain it is the key of (a PEM file)"
    required TLS_KEY_FILE "TLS_CERT_FILE needs its private key (a PEM file)"
    # Envoy watches the files' directories: their paths must be absolute.
    case $TLS_CERT_FILE in /*) tls_cert=$TLS_CERT_FILE ;; *) tls_cert=$PWD/$TLS_CERT_FILE ;; esac
    case $TLS_KEY_FILE in /*) tls_key=$TLS_KEY_FILE ;; *) tls_key=$PWD/$TLS_KEY_FILE ;; esac
    plain TLS_CERT_FILE "$tls_cert"
    plain TLS_KEY_FILE "$tls_key"
    [ -r "$tls_cert" ] && [ -f "$tls_cert" ] || fail "TLS_CERT_FILE: cannot read $TLS_CERT_FILE"
    grep -q -- '-----BEGIN CERTIFICATE-----' "$tls_cert" \
        || fail "TLS_CERT_FILE: $TLS_CERT_FILE holds no PEM certificate"
    # Read here as Envoy will (the image's unprivileged user); grep -q prints nothing of it.
    [ -r "$tls_key" ] && [ -f "$tls_key" ] || fail "TLS_KEY_FILE: cannot read $TLS_KEY_FILE"
    grep -q -- '-----BEGIN [A-Z ]*PRIVATE KEY-----' "$tls_key" \
        || fail "TLS_KEY_FILE: $TLS_KEY_FILE holds no PEM private key"
    ! grep -q -e '-----BEGIN ENCRYPTED PRIVATE KEY-----' -e '^Proc-Type: 4,ENCRYPTED' "$tls_key" \
        || fail "TLS_KEY_FILE: $TLS_KEY_FILE is encrypted: Envoy needs the key without a passphrase"
    # A chain that does not parse, or a key that is not its certificate's, would leave Envoy
    # serving with no certificate at all (an SDS secret refused is not fatal): Envoy checks the
    # pair now, as a static one, binding nothing (in a fraction of a second). Its message names
    # the file, never its contents.
    tls_check="
static_resources:
  listeners:
    - name: tls_check
      address: { socket_address: { address: 127.0.0.1, port_value: 1 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: tls_check
                cluster: none
          transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              common_tls_context:
                tls_certificates: [{ certificate_chain: { filename: \"$tls_cert\" }, private_key: { filename: \"$tls_key\" } }]"
    if ! refused=$("$envoy" --mode validate --config-yaml "$tls_check" --log-level critical 2>&1); then
        why=$(printf '%s\n' "$refused" | sed -n 's/.*error initializing configuration [^:]*: //p' | head -n 1)
        fail "TLS_CERT_FILE, TLS_KEY_FILE: Envoy cannot serve this pair: ${why:-$(printf '%s\n' "$refused" | tail -n 1)}"
    fi
    sds_dir=$(mktemp -d "${TMPDIR:-/tmp}/s3-resign.XXXXXX") || fail "TLS_CERT_FILE: cannot write the SDS file under ${TMPDIR:-/tmp}"
    sds=$sds_dir/public-tls.yaml
    printf '%s\n' \
        'resources:' \
        '  - "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret' \
        '    name: public_tls' \
        '    tls_certificate:' \
        "      certificate_chain: { filename: \"$tls_cert\" }" \
        "      private_key: { filename: \"$tls_key\" }" > "$sds"
    # SDS needs a node to name (the cluster's name is /healthz's x-envoy-upstream-healthchecked-cluster).
    node="
node: { id: s3-resign, cluster: s3-resign }"
    listener_scheme=https
    # A handshake must end within 10 s, as a request head must arrive (request_headers_timeout):
    # otherwise a connection that sends part of a ClientHello, or nothing, holds its slot
    # for as long as no other timeout ends it (a red team found it, 2026-12-02).
    listener_transport="
          transport_socket_connect_timeout: 10s
          transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              common_tls_context:
                alpn_protocols: [h2, http/1.1]
                tls_params: { tls_minimum_protocol_version: TLSv1_2 }
                tls_certificate_sds_secret_configs:
                  - name: public_tls
                    sds_config: { path_config_source: { path: \"$sds\" }, resource_api_version: V3 }"
fi

# -- Envoy's configuration -------------------------------------------------------------------

# One filter chain of the public listener: `public_chain HOPS MATCH`, HOPS the load balancers
# trusted to append to X-Forwarded-For, MATCH what leads its list item (its name and the
# sources it serves, or nothing).
public_chain() {
    printf '%s' "
        - $2filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: s3_public
                normalize_path: false
                merge_slashes: false
                path_with_escaped_slashes_action: KEEP_UNCHANGED
                stream_idle_timeout: 60s
                request_timeout: 0s
                # The whole request head within 10 s (a slow-header client holds nothing long).
                request_headers_timeout: 10s
                # Draining (a listener update, a stop): a connection whose client keeps sending
                # after the first GOAWAY or connection: close is closed after 1 s, not
                # Envoy's 5: with --drain-strategy immediate, a key removed by an update is
                # served on a connection opened before it for about 2 s past that
                # connection's next answer, not 6 (red team RT105); --drain-time-s bounds
                # how long such a connection lives (README, Changing keys).
                drain_timeout: 1s
                # Header names with underscores go on to the filter, which refuses all but a
                # metadata key's (x-amz-meta-user_id, as boto3 sends Metadata={'user_id': 1}):
                # x_amz_acl is x-amz-acl to origins that read headers CGI-style.
                common_http_protocol_options:
                  headers_with_underscores_action: ALLOW
                  # A connection with no request in flight is closed after 30 s (Envoy's
                  # default: an hour). request_headers_timeout starts only at a request's
                  # first byte: without this, connections that never send one hold their
                  # slots of the 20,000 for an hour. A little longer than AWS S3 is seen
                  # to keep an idle connection (about 20 s): SDK pools, which cope with S3
                  # closing, lose nothing they do not lose there. A request in flight is
                  # never idle.
                  idle_timeout: 30s
                # No client address is internal: Envoy would take retries, timeouts and hedging
                # from their x-envoy-* headers (which the filter removes too), keep their
                # x-request-id and pass their other x-envoy-* headers on. Not an empty list:
                # with no range Envoy falls back to its old rule, RFC 1918 and loopback
                # addresses internal (a red team, 2026-12-03); 0.0.0.0 is no client's address.
                internal_address_config: { cidr_ranges: [{ address_prefix: 0.0.0.0, prefix_len: 32 }] }
                # At most 100 requests at once on one HTTP/2 connection (RFC 9113's suggested
                # least; Envoy's default is 2^31 - 1): with HPACK, each more costs a client a
                # few bytes and Envoy a stream with its headers (a red team opened 1,000 a
                # connection, 2026-12-03). SDKs and browsers open far fewer.
                http2_protocol_options: { max_concurrent_streams: 100 }
                # HTTP/1 answers keep the origin's header-name case (ETag): as envoy.yaml.
                http_protocol_options:
                  header_key_format:
                    stateful_formatter:
                      name: preserve_case
                      typed_config:
                        \"@type\": type.googleapis.com/envoy.extensions.http.header_formatters.preserve_case.v3.PreserveCaseFormatterConfig
                # Who the client is, as the origin reads it (MinIO's aws:SourceIp, its audit
                # log), is Envoy's view of the peer, never the client's unsigned word:
                # X-Forwarded-For is written anew and the headers that claim another address or
                # host are removed, in route_config (after the filter). Behind a load balancer
                # that appends to X-Forwarded-For, TRUSTED_PROXY_HOPS is the number of such hops
                # (with 0, the origin sees the balancer's address, and X-Forwarded-Proto is this
                # listener's scheme; with more, Envoy keeps the X-Forwarded-Proto it receives, so
                # the balancer must set it, not pass the client's on).
                use_remote_address: true
                xff_num_trusted_hops: $1
                # Envoy's own answers in S3's form, an XML body with a code, as S3 clients read
                # errors: the origin unreachable or silent, a client too slow, a request Envoy
                # cannot parse, a VM that failed. The filter's own answers match none of these
                # (no response flag, no status among them, no code details), and /healthz
                # keeps its empty 503 (flag LH). The body repeats nothing of the request; the
                # request id is in x-amz-request-id. Cache-Control: no-store, as on the filter's
                # answers: a cache in front must not keep for a URL an error one request's own
                # headers caused (an oversized header, a slow client) and serve it to others.
                local_reply_config:
                  mappers:
                    - filter:  # the origin silent too long: a retry's per-try timeout (UT), the route's idle_timeout (SI)
                        and_filter:
                          filters:
                            - response_flag_filter: { flags: [UT, SI] }
                            - status_code_filter: { comparison: { value: { default_value: 504, runtime_key: s3_resign.local_reply.504 } } }
                      headers_to_add: [{ header: { key: x-amz-request-id, value: \"%REQ(X-REQUEST-ID)%\" }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }, { header: { key: cache-control, value: no-store }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                      body_format_override:
                        content_type: application/xml
                        text_format_source: { inline_string: '<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>GatewayTimeout</Code><Message>No answer came in time; please try again.</Message></Error>' }
                    - filter:  # no origin reached or it broke off: none healthy, refused, reset, retries spent, circuit open, a malformed answer
                        response_flag_filter: { flags: [UH, UF, UC, UR, URX, UO, UPE] }
                      headers_to_add: [{ header: { key: x-amz-request-id, value: \"%REQ(X-REQUEST-ID)%\" }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }, { header: { key: cache-control, value: no-store }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                      body_format_override:
                        content_type: application/xml
                        text_format_source: { inline_string: '<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code><Message>The origin cannot be reached; please try again.</Message></Error>' }
                    - filter:  # a retry could not hold the rest of the body (the route's buffer, 1 MiB): Envoy's 507, which no client retries (failover.yaml's routes retry)
                        extension_filter:
                          name: envoy.access_loggers.extension_filters.cel
                          typed_config:
                            \"@type\": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
                            expression: \"response.code_details == 'request_payload_exceeded_retry_buffer_limit'\"
                      status_code: 503
                      headers_to_add: [{ header: { key: x-amz-request-id, value: \"%REQ(X-REQUEST-ID)%\" }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }, { header: { key: cache-control, value: no-store }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                      body_format_override:
                        content_type: application/xml
                        text_format_source: { inline_string: '<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code><Message>The origin cannot be reached, and the upload is too large to hold for another try; please try again.</Message></Error>' }
                    - filter:  # the filter's VM failed on this request (failure_policy): nothing was forwarded
                        extension_filter:
                          name: envoy.access_loggers.extension_filters.cel
                          typed_config:
                            \"@type\": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
                            expression: \"response.code_details == 'wasm_fail_stream'\"
                      headers_to_add: [{ header: { key: x-amz-request-id, value: \"%REQ(X-REQUEST-ID)%\" }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }, { header: { key: cache-control, value: no-store }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                      body_format_override:
                        content_type: application/xml
                        text_format_source: { inline_string: '<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code><Message>The request could not be checked and was not forwarded; please try again.</Message></Error>' }
                    - filter:  # the client's head or body came too slowly (request_headers_timeout, stream_idle_timeout): S3's 400
                        status_code_filter: { comparison: { value: { default_value: 408, runtime_key: s3_resign.local_reply.408 } } }
                      status_code: 400
                      headers_to_add: [{ header: { key: x-amz-request-id, value: \"%REQ(X-REQUEST-ID)%\" }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }, { header: { key: cache-control, value: no-store }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                      body_format_override:
                        content_type: application/xml
                        text_format_source: { inline_string: '<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>RequestTimeout</Code><Message>Your socket connection to the server was not read from or written to within the timeout period.</Message></Error>' }
                    - filter:  # headers over max_request_headers_kb: S3's 400
                        status_code_filter: { comparison: { value: { default_value: 431, runtime_key: s3_resign.local_reply.431 } } }
                      status_code: 400
                      headers_to_add: [{ header: { key: cache-control, value: no-store }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                      body_format_override:
                        content_type: application/xml
                        text_format_source: { inline_string: '<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>RequestHeaderSectionTooLarge</Code><Message>Your request header section exceeds the maximum allowed size.</Message></Error>' }
                    - filter:  # a request Envoy refuses to parse (a malformed line or header, no Host, a target not a path) or HTTP/1.0 (426)
                        extension_filter:
                          name: envoy.access_loggers.extension_filters.cel
                          typed_config:
                            \"@type\": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
                            expression: \"((response.code == 400 || response.code == 426) && response.code_details != '') || response.code_details == 'absolute_path_rejected'\"
                      status_code: 400
                      headers_to_add: [{ header: { key: x-amz-request-id, value: \"%REQ(X-REQUEST-ID)%\" }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }, { header: { key: cache-control, value: no-store }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                      body_format_override:
                        content_type: application/xml
                        text_format_source: { inline_string: '<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidRequest</Code><Message>The request is not HTTP this endpoint accepts (HTTP/1.0, a malformed request line or header, no Host, a target that is not a path).</Message></Error>' }
                    - filter:  # an Upgrade the route does not take (WebSocket: 403, CONNECT-UDP: 404) or a Transfer-Encoding Envoy does not (501): S3 serves none
                        or_filter:
                          filters:
                            - extension_filter:
                                name: envoy.access_loggers.extension_filters.cel
                                typed_config:
                                  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
                                  expression: \"response.code_details == 'upgrade_failed' || response.code_details == 'http1.invalid_transfer_encoding'\"
                            - and_filter:
                                filters:
                                  - status_code_filter: { comparison: { value: { default_value: 404, runtime_key: s3_resign.local_reply.404 } } }
                                  - header_filter: { header: { name: upgrade, present_match: true } }
                                  - extension_filter: { name: envoy.access_loggers.extension_filters.cel, typed_config: { \"@type\": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter, expression: \"response.code_details != ''\" } }  # Envoy's, never the filter's
                      status_code: 501
                      headers_to_add: [{ header: { key: x-amz-request-id, value: \"%REQ(X-REQUEST-ID)%\" }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }, { header: { key: cache-control, value: no-store }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                      body_format_override:
                        content_type: application/xml
                        text_format_source: { inline_string: '<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented.</Message></Error>' }
                    - filter:  # any other answer of Envoy's own (/healthz, ...): kept as it is, but not for a cache
                        extension_filter:
                          name: envoy.access_loggers.extension_filters.cel
                          typed_config:
                            \"@type\": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
                            expression: \"response.code_details != ''\"
                      headers_to_add: [{ header: { key: cache-control, value: no-store }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                access_log:
                  - name: envoy.access_loggers.stdout
                    typed_config:
                      \"@type\": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
                      log_format:
                        json_format:
                          time: \"%START_TIME%\"
                          request_id: \"%REQ(X-REQUEST-ID)%\"
                          client: \"%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%\"
                          method: \"%REQ(:METHOD)%\"
                          path: \"%PATH(NQ)%\"
                          protocol: \"%PROTOCOL%\"
                          status: \"%RESPONSE_CODE%\"
                          flags: \"%RESPONSE_FLAGS%\"
                          bytes_in: \"%BYTES_RECEIVED%\"
                          bytes_out: \"%BYTES_SENT%\"
                          duration_ms: \"%DURATION%\"
                          upstream_ms: \"%COMMON_DURATION(US_TX_BEG:US_RX_BEG:ms)%\"
                          upstream: \"%UPSTREAM_HOST%\"
                          user_agent: \"%REQ(USER-AGENT)%\"
                          s3_auth_kind: \"%FILTER_STATE(wasm.s3_resign.kind:PLAIN)%\"
                          s3_access_key_id: \"%FILTER_STATE(wasm.s3_resign.access_key_id:PLAIN)%\"
                          s3_error_code: \"%FILTER_STATE(wasm.s3_resign.error_code:PLAIN)%\"
                route_config:
                  name: s3
                  request_headers_to_remove: [x-real-ip, forwarded, x-forwarded-host, x-forwarded-scheme, x-forwarded-port, x-forwarded-prefix,
                    x-http-method-override, x-http-method, x-method-override, x-original-url, x-rewrite-url,
                    x-original-uri, x-forwarded-uri, x-host, x-forwarded-server]
                  request_headers_to_add:
                    - header: { key: x-forwarded-for, value: \"%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%\" }
                      append_action: OVERWRITE_IF_EXISTS_OR_ADD
                  virtual_hosts:
                    - name: s3
                      domains: [\"*\"]
                      routes:
                        - match: { prefix: \"/\" }
                          route: { cluster: s3_origin, timeout: 0s, idle_timeout: 300s }
                http_filters:
                  # An unsigned GET (or HEAD) /healthz, as the Python proxy answered it: 200 while the origin is up.
                  - name: envoy.filters.http.health_check
                    typed_config:
                      \"@type\": type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck
                      pass_through_mode: false
                      # Not a signed request, nor another method: a bucket or key named healthz is S3's.
                      headers:
                        - { name: \":path\", string_match: { exact: /healthz } }
                        - { name: \":method\", string_match: { safe_regex: { regex: \"GET|HEAD\" } } }
                        - { name: authorization, present_match: true, invert_match: true }
                      cluster_min_healthy_percentages: { s3_origin: { value: 100 } }
                  - name: envoy.filters.http.wasm
                    typed_config:
                      \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        name: s3-resign
                        root_id: s3-resign
                        failure_policy: FAIL_RELOAD
                        # A browser upload's headers wait in the filter until its form is verified, while
                        # the body still reaches the filter (Envoy's default would hold the body back too).
                        allow_on_headers_stop_iteration: true
                        reload_config: { backoff: { base_interval: 1s, max_interval: 1s } }
                        vm_config:
                          vm_id: s3-resign
                          runtime: envoy.wasm.runtime.v8
                          code: { local: { filename: \"$wasm\" } }
                          environment_variables:
                            host_env_keys: [$env_keys]
                        # Empty: the filter reads the variables above from its environment.
                        configuration:
                          \"@type\": type.googleapis.com/google.protobuf.StringValue
                          value: \"\"
                  - name: envoy.filters.http.router
                    typed_config:
                      \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
                      # No x-envoy-* headers of the router's in answers or at the origin.
                      suppress_envoy_headers: true$listener_transport"
}

if [ -n "$trusted_ranges" ]; then
    # The balancers' connections (Envoy picks the chain with the longest matching range), then
    # everyone else's, whose X-Forwarded-For and X-Forwarded-Proto Envoy replaces.
    chains="$(public_chain "$trusted_hops" "name: trusted_proxies
          filter_chain_match: { source_prefix_ranges: [ $trusted_ranges ] }
          ")$(public_chain 0 "name: direct_clients
          ")"
else
    chains=$(public_chain "$trusted_hops" "")
fi

config="$node
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $admin_port } }
stats_config:
  stats_tags:
    - { tag_name: kind, regex: '(kind=\\.=(.*?);\\.;)' }
    - { tag_name: code, regex: '(code=\\.=(.*?);\\.;)' }
    - { tag_name: result, regex: '(result=\\.=(.*?);\\.;)' }
# Bounds on what idle or slow clients can hold (SECURITY.md, class 3, Exhaustion by idle clients): connections
# overall here, streams per origin in the cluster's circuit breakers, time in the listener.
overload_manager:
  resource_monitors:
    - name: envoy.resource_monitors.global_downstream_max_connections
      typed_config:
        \"@type\": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
        max_active_downstream_connections: 20000

static_resources:
  listeners:
    - name: s3_public
      address: { socket_address: { address: \"$bind\", port_value: $listen_port } }
      filter_chains:$chains
    # Bounded apart from PORT: outside the global 20,000 (flooding it cannot starve PORT), with
    # 64 connections of its own, each holding nothing long, as PORT's.
    - name: metrics
      address: { socket_address: { address: \"$bind\", port_value: $metrics_port } }
      ignore_global_conn_limit: true
      filter_chains:
        - filters:
            - name: envoy.filters.network.connection_limit
              typed_config:
                \"@type\": type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit
                stat_prefix: metrics
                max_connections: 64
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: metrics
                request_headers_timeout: 10s
                drain_timeout: 1s
                stream_idle_timeout: 60s
                common_http_protocol_options: { idle_timeout: 30s }
                internal_address_config: { cidr_ranges: [{ address_prefix: 0.0.0.0, prefix_len: 32 }] }
                # The peer's address, not X-Forwarded-For's last entry, is what the range is
                # matched against: without it, a scraper sending X-Forwarded-For: 0.0.0.0
                # counted as internal, and its x-envoy-max-retries had admin render one scrape
                # 51 times (a red team, 2026-12-03).
                use_remote_address: true
                http2_protocol_options: { max_concurrent_streams: 100 }
                route_config:
                  virtual_hosts:
                    - name: metrics
                      domains: [\"*\"]
                      routes:
                        - match: { path: /stats/prometheus, headers: [{ name: :method, string_match: { exact: GET } }] }
                          route: { cluster: admin }
                        - match: { path: /ready, headers: [{ name: :method, string_match: { exact: GET } }] }
                          route: { cluster: admin }
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: s3_origin
      type: LOGICAL_DNS
      dns_lookup_family: V4_PREFERRED
      connect_timeout: 5s
      # Room for many concurrent uploads, but bounded: a client holding requests open
      # cannot take every slot to the origin (Envoy's default is 1024).
      circuit_breakers:
        thresholds:
          - priority: DEFAULT
            max_connections: 4096
            max_pending_requests: 4096
            max_requests: 4096
            max_retries: 64
      health_checks:
        - timeout: 2s
          interval: 5s
          no_traffic_interval: 5s
          unhealthy_threshold: 2
          healthy_threshold: 1
          http_health_check:
            path: /
            host: \"$origin_host\"
            expected_statuses: [{ start: 200, end: 500 }]
      load_assignment:
        cluster_name: s3_origin
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: \"$origin_host\", port_value: $origin_port } } }
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config:
            http_protocol_options:
              header_key_format:
                stateful_formatter:
                  name: preserve_case
                  typed_config:
                    \"@type\": type.googleapis.com/envoy.extensions.http.header_formatters.preserve_case.v3.PreserveCaseFormatterConfig$transport
    - name: admin
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: admin
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $admin_port } } }
"

printf 's3-resign: serving %s on %s://%s:%s for %s://%s (metrics on %s:%s/stats/prometheus)\n' \
    "$PUBLIC_DOMAINS" "$listener_scheme" "$bind" "$listen_port" "$scheme" "$ORIGIN_DOMAIN" "$bind" "$metrics_port" >&2

# -- stopping gracefully -------------------------------------------------------------------

# Envoy stops at once on SIGTERM, cutting every upload and download in flight (a walk-through
# found a pod's restart did, 2026-12-01), so this script stays, and on SIGTERM (docker stop, a
# pod deleted) or SIGINT: /healthz answers 503 so that load balancers stop sending, clients are
# told to close (HTTP/1 `Connection: close`, HTTP/2 GOAWAY), requests in flight get up to
# DRAIN_SECONDS to finish, then Envoy stops.

# `admin METHOD PATH`: the body of Envoy's answer on its loopback admin port. Through bash's
# /dev/tcp: POSIX sh has no sockets and the image no HTTP client (bash is in its Ubuntu base).
admin() {
    bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" "$2" "$3" >&3
        sed "1,/^\r\$/d" <&3' admin "$admin_port" "$1" "$2" 2>/dev/null
}

active_requests() {
    admin GET '/stats?filter=^http\.s3_public\.downstream_rq_active$' \
        | sed -n 's/^http\.s3_public\.downstream_rq_active: //p'
}

stop_gracefully() {
    trap '' TERM INT
    printf 's3-resign: stopping: requests in flight have up to %s s to finish\n' "$drain_seconds" >&2
    admin POST /healthcheck/fail >/dev/null || true
    admin POST '/drain_listeners?graceful' >/dev/null || true
    waited=0
    while [ "$waited" -lt "$drain_seconds" ]; do
        active=$(active_requests) || active=
        [ "${active:-0}" -gt 0 ] 2>/dev/null || break
        sleep 1
        waited=$((waited + 1))
    done
    kill -TERM "$envoy_pid" 2>/dev/null || true
}

# In a session of its own: a SIGINT to the whole process group (Ctrl-C in a terminal, `docker
# run -it`) would otherwise reach Envoy too, which stops at once (a red team found it did).
# With hot restart off: this image never hot-restarts, and otherwise Envoy listens on an
# abstract Unix socket (@envoy_domain_socket_parent_0, no owner, no mode) through which any
# process of any uid in the network namespace can take the listening socket or stop Envoy
# (a red team did both, 2026-12-02). Once: Envoy refuses a flag given twice, and the README
# tells those who run Envoy to pass it (a review found a `docker run … --disable-hot-restart`
# would not start).
hot_restart_off=--disable-hot-restart
for arg in "$@"; do
    [ "$arg" != --disable-hot-restart ] || hot_restart_off=
done
setsid "$envoy" --config-yaml "$config" --log-level "$envoy_level" --component-log-level "wasm:$wasm_level" \
    --drain-time-s "$drain_seconds" --drain-strategy immediate ${hot_restart_off:+"$hot_restart_off"} "$@" &
envoy_pid=$!
trap stop_gracefully TERM INT
# A trapped signal ends `wait` early: wait on until Envoy has exited, and exit as it did.
while :; do
    wait "$envoy_pid" && status=0 || status=$?
    kill -0 "$envoy_pid" 2>/dev/null || break
done
# Envoy may have exited while the trap ran (its commands reap it): the shell kept its status
# for this wait (127: nothing left to wait for, the status above stands).
wait "$envoy_pid" 2>/dev/null && status=0 || { last=$?; [ "$last" -eq 127 ] || status=$last; }
# What this start wrote (read by Envoy while it ran): a container restarted in place would
# gather one directory a start.
rm -rf "${bundle_dir:-}" "${sds_dir:-}"
exit "$status"
