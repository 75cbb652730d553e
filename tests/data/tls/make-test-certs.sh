#!/usr/bin/env bash
# Makes the test PKI of tests/unit/net/tls and bench/tls_benchmark.cc: a test CA,
# an untrusted CA, an intermediate CA and leaf certificates whose names cover
# the RFC 5922 identity rules. The files are checked in, valid from 2020-01-01
# to 2120-01-01 whatever the clock of the machine that made them, so tests
# need no openssl at run time; run this again only to change them:
#
#   bash tests/data/tls/make-test-certs.sh        # rewrites tests/data/tls/*.pem, *.key
#
# Uses the openssl command line tool from Debian's `openssl` package (3.0);
# `openssl ca` because it can set the validity dates. Test-only keys: never
# use them for anything else. The CA keys are deleted at the end.
set -euo pipefail
cd "$(dirname "$0")"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=20200101000000Z
end=21200101000000Z

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# sign NAME ISSUER EXTENSIONS [START END]: NAME.csr signed by ISSUER (or by
# itself when ISSUER is "self") with the given extensions and dates.
sign() {
  local name=$1 issuer=$2 ext=$3 from=${4:-$start} to=${5:-$end}
  local db="$tmp/db-$issuer"
  if [[ ! -d $db ]]; then
    mkdir -p "$db"
    touch "$db/index.txt"
    openssl rand -hex 8 >"$db/serial"
  fi
  cat >"$tmp/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $db/index.txt
new_certs_dir = $db
serial = $db/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
organizationName = optional
commonName = supplied
CNF
  printf '%b\n' "$ext" >"$tmp/ext"
  local issuer_args=(-cert "$issuer.pem" -keyfile "$issuer.key")
  if [[ $issuer == self ]]; then
    issuer_args=(-selfsign -keyfile "$name.key")
  fi
  openssl ca -batch -config "$tmp/ca.cnf" "${issuer_args[@]}" -in "$tmp/$name.csr" \
    -extfile "$tmp/ext" -startdate "$from" -enddate "$to" -notext -out "$name.pem" 2>/dev/null
}

ca_ext='basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign'
both_eku='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth'

# ca NAME "CN" ISSUER: a CA certificate (ISSUER "self" for a root).
ca() {
  ec_key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$tmp/$1.csr"
  sign "$1" "$3" "$ca_ext"
}

# leaf NAME KEYTYPE ISSUER "SUBJECT" "EXTENSIONS" [START END]: a leaf certificate.
leaf() {
  "${2}_key" "$1.key"
  openssl req -new -key "$1.key" -subj "$4" -out "$tmp/$1.csr"
  sign "$1" "$3" "$5" "${6:-$start}" "${7:-$end}"
}

ca ca "flowedge test CA" self
ca other-ca "flowedge untrusted test CA" self
ca intermediate "flowedge test intermediate CA" ca

# P1 of RFC 5923 §5 (example.com): server and client certificate, ECDSA P-256.
leaf example-com-ec ec ca "/CN=p1.example.com" \
  "$both_eku\nsubjectAltName=URI:sip:example.com,URI:sip:p1.example.com,DNS:p1.example.com"
# P2 of RFC 5923 §5 (example.net), RSA-2048: the second virtual server identity.
leaf example-net-rsa rsa ca "/CN=p2.example.net" \
  "$both_eku\nsubjectAltName=URI:sip:example.net,URI:sip:p2.example.net"
# A phone's client certificate: a user URI only, so no SIP domain identity.
leaf alice-phone ec ca "/CN=alice" "$both_eku\nsubjectAltName=URI:sip:alice@example.com"
# The same names as example-com-ec, from a CA the tests do not trust.
leaf untrusted ec other-ca "/CN=p1.example.com" \
  "$both_eku\nsubjectAltName=URI:sip:example.com,URI:sip:p1.example.com"
# RFC 5922 §7.2: a wildcard dNSName only, which authenticates no SIP domain.
leaf wildcard ec ca "/CN=wildcard.example.org" "$both_eku\nsubjectAltName=DNS:*.example.org"
# RFC 5922 §7.1 step 2: no subjectAltName at all, the name is in the CN.
leaf cn-only ec ca "/CN=legacy.example.com" "$both_eku"
# Every subjectAltName type, for the X.509 name extraction test.
leaf names ec ca "/O=flowedge tests/CN=names.example.com" \
  "$both_eku\nsubjectAltName=URI:sip:example.com,URI:sips:secure.example.com,URI:sip:alice@example.com,DNS:dns.example.com,IP:192.0.2.7,IP:2001:db8::7,email:ops@example.com"
# RFC 5922 §7.1 / RFC 5280 §4.2.1.12: serverAuth only, refused as a client certificate.
leaf server-only ec ca "/CN=p1.example.com" \
  "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=URI:sip:example.com"
# More names than core/tls/limits.h kCertificateNameCountMax (100): no identity at all.
many=$(for i in $(seq 1 101); do printf 'DNS:n%d.example.com,' "$i"; done)
leaf many-names ec ca "/CN=many.example.com" "$both_eku\nsubjectAltName=${many%,}"
# A leaf under the intermediate; its chain file carries both.
leaf chain-leaf ec intermediate "/CN=chain.example.com" \
  "$both_eku\nsubjectAltName=URI:sip:chain.example.com"
cat chain-leaf.pem intermediate.pem >chain-leaf-chain.pem
# Expired in 2001.
leaf expired ec ca "/CN=p1.example.com" "$both_eku\nsubjectAltName=URI:sip:example.com" \
  20000101000000Z 20010101000000Z

rm -f ca.key intermediate.key other-ca.key
echo "make-test-certs: wrote $(ls ./*.pem | wc -l) PEM files in $(pwd)"
