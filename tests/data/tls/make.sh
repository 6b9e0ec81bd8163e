#!/bin/sh
# Makes the test PKI: two CAs ("system" stands in for the OS trust store, "bundle" for
# http.ca_bundle) and a server certificate for 127.0.0.1 from each (certificate and key in one
# file). Valid 2020-2120. Run from this directory; the CA keys are thrown away.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for name in system bundle; do
  mkdir -p "$work/$name-db/new"
  : > "$work/$name-db/index.txt"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=pipeline test $name CA" \
    -keyout "$work/$name-ca.key" -out "$work/$name-ca.csr" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$work/$name-server.key" -out "$work/$name-server.csr" 2>/dev/null
  cat > "$work/$name.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $work/$name-db/index.txt
new_certs_dir = $work/$name-db/new
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = server
rand_serial = yes
[any]
commonName = supplied
[authority]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  openssl ca -batch -notext -config "$work/$name.cnf" -selfsign -extensions authority \
    -keyfile "$work/$name-ca.key" -in "$work/$name-ca.csr" -out "$work/$name-ca.pem" \
    -startdate 20200101000000Z -enddate 21200101000000Z 2>/dev/null
  openssl ca -batch -notext -config "$work/$name.cnf" -cert "$work/$name-ca.pem" \
    -keyfile "$work/$name-ca.key" -in "$work/$name-server.csr" -out "$work/$name-server.crt" \
    -startdate 20200101000000Z -enddate 21200101000000Z 2>/dev/null
  cp "$work/$name-ca.pem" "$name-ca.pem"
  cat "$work/$name-server.crt" "$work/$name-server.key" > "$name-server.pem"
done
