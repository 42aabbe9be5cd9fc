#!/usr/bin/env bash
# A real OpenID Connect provider on this machine for the staff sign-in's tests and the demo:
# LemonLDAP::NG (Debian's lemonldap-ng, as used by French administrations) with its "Demo"
# directory, served by its FastCGI server behind an nginx instance of its own, on loopback.
#
# Idempotent: installs the Debian packages when missing, writes the provider's configuration
# (kept under $OIDC_HOME, never the system's /var/lib/lemonldap-ng), generates the signing key
# and the relying party's client secret once, (re)starts the FastCGI server when the
# configuration changed and nginx when it is not answering, then waits until the discovery
# document is served. No systemd. Prints the settings geotranquil needs (also written to
# $OIDC_HOME/geotranquil.env).
#
#   bash scripts/oidc.sh          # install/configure/start, wait until ready
#   bash scripts/oidc.sh stop     # stop the FastCGI server and nginx started here
#
# Demo accounts (password = login), their groups at the provider and the role geotranquil
# gives them with the default mapping:
#   dwho      geotranquil-administrateurs   admin
#   rtyler    geotranquil-analystes         analyst
#   cnoble    geotranquil-agents            agent
#   msmith    geotranquil-urbanistes        planner
#   rwilliams (none of them)                no role: refused (403)
set -euo pipefail

OIDC_HOME="${GEOTRANQUIL_OIDC_HOME:-/var/lib/geotranquil-oidc}"
OIDC_PORT="${GEOTRANQUIL_OIDC_PORT:-8480}"
ISSUER="http://127.0.0.1:${OIDC_PORT}"
CLIENT_ID="geotranquil"
# where geotranquil may send people back: the demo server and the tests' server
REDIRECT_PORTS="${GEOTRANQUIL_OIDC_APP_PORTS:-8000 8481}"

say() { printf '\033[1m[oidc]\033[0m %s\n' "$*"; }

FCGI_PID="$OIDC_HOME/run/llng-fastcgi.pid"
FCGI_SOCKET="$OIDC_HOME/run/llng-fastcgi.sock"
NGINX_PID="$OIDC_HOME/run/nginx.pid"

stop_pidfile() {
  local file="$1" pid
  pid="$(cat "$file" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$file"
}

if [ "${1:-}" = "stop" ]; then
  stop_pidfile "$NGINX_PID"
  stop_pidfile "$FCGI_PID"
  say "fournisseur arrêté"
  exit 0
fi

# 1. Debian packages -------------------------------------------------------------------------
missing=()
# the portal needs two of its "Recommends" (captcha module, RSA key numbers for the JWKS)
# and String::Random (its OpenID Connect issuer; not among its dependencies in Debian 12)
for pkg in lemonldap-ng lemonldap-ng-fastcgi-server libgd-securityimage-perl \
  libcrypt-openssl-bignum-perl libstring-random-perl nginx openssl curl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installation des paquets système : ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. State: directories, signing key, client secret (generated once) --------------------------
mkdir -p "$OIDC_HOME"/{conf,sessions/lock,psessions/lock,cache,notifications,run,log,nginx}
chmod 700 "$OIDC_HOME"
if [ ! -s "$OIDC_HOME/signing.key" ]; then
  say "génération de la clé de signature RSA du fournisseur"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$OIDC_HOME/signing.key" 2>/dev/null
  openssl pkey -in "$OIDC_HOME/signing.key" -pubout -out "$OIDC_HOME/signing.pub"
  openssl rand -hex 6 >"$OIDC_HOME/signing.kid"
fi
if [ ! -s "$OIDC_HOME/client.secret" ]; then
  openssl rand -hex 24 >"$OIDC_HOME/client.secret"
fi
CLIENT_SECRET="$(cat "$OIDC_HOME/client.secret")"

# Two more demo accounts beside dwho, rtyler and msmith (the Demo directory has only three):
# loaded by the FastCGI server at start (its "custom functions file").
cat >"$OIDC_HOME/demo_accounts.pm" <<'PERL'
# Extra accounts of LemonLDAP::NG's Demo directory (password = login), for geotranquil's tests.
require Lemonldap::NG::Portal::UserDB::Demo;
$Lemonldap::NG::Portal::UserDB::Demo::demoAccounts{cnoble} =
  { uid => 'cnoble', cn => 'Donna Noble', mail => 'cnoble@badwolf.org' };
$Lemonldap::NG::Portal::UserDB::Demo::demoAccounts{rwilliams} =
  { uid => 'rwilliams', cn => 'Rory Williams', mail => 'rwilliams@badwolf.org' };
push @{ $Lemonldap::NG::Portal::UserDB::Demo::demoGroups{users} }, qw(cnoble rwilliams);
1;
PERL

cat >"$OIDC_HOME/lemonldap-ng.ini" <<INI
[all]
logLevel = ${GEOTRANQUIL_OIDC_LOG_LEVEL:-warn}
checkTime = 1
[configuration]
type = File
dirName = $OIDC_HOME/conf
prettyPrint = 1
localStorage = Cache::FileCache
localStorageOptions = { 'namespace' => 'lemonldap-ng-config', 'default_expires_in' => 600, 'directory_umask' => '007', 'cache_root' => '$OIDC_HOME/cache', 'cache_depth' => 3 }
[portal]
staticPrefix = /static
templateDir = /usr/share/lemonldap-ng/portal/templates
languages = fr, en
[handler]
status = 0
useRedirectOnError = 1
INI

# 3. The provider's configuration (lmConf-1.json), rewritten each time from this script ------
redirects=""
logouts=""
for port in $REDIRECT_PORTS; do
  redirects="$redirects http://127.0.0.1:$port/auth/retour"
  logouts="$logouts http://127.0.0.1:$port/auth/deconnecte"
done
OIDC_HOME="$OIDC_HOME" ISSUER="$ISSUER" CLIENT_ID="$CLIENT_ID" CLIENT_SECRET="$CLIENT_SECRET" \
  REDIRECTS="${redirects# }" LOGOUTS="${logouts# }" /usr/bin/python3 - <<'PY'
import hashlib, json, os, pathlib

home = pathlib.Path(os.environ["OIDC_HOME"])
issuer = os.environ["ISSUER"]
client_id = os.environ["CLIENT_ID"]
claims = {"name": "cn", "email": "mail", "preferred_username": "uid",
          "groups": "groups;string;always"}


def rp(cid, secret, *, access_seconds=3600, audiences="", redirects="", logouts="", name="",
       jwt=1):
    options = {
        "oidcRPMetaDataOptionsClientID": cid,
        "oidcRPMetaDataOptionsClientSecret": secret,
        "oidcRPMetaDataOptionsDisplayName": name or cid,
        "oidcRPMetaDataOptionsRedirectUris": redirects,
        "oidcRPMetaDataOptionsPostLogoutRedirectUris": logouts,
        "oidcRPMetaDataOptionsRequirePKCE": 1 if redirects else 0,
        "oidcRPMetaDataOptionsBypassConsent": 1,
        "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
        "oidcRPMetaDataOptionsAccessTokenJWT": jwt,
        "oidcRPMetaDataOptionsAccessTokenClaims": 1,
        "oidcRPMetaDataOptionsAccessTokenSignAlg": "RS256",
        "oidcRPMetaDataOptionsAccessTokenExpiration": access_seconds,
        "oidcRPMetaDataOptionsAdditionalAudiences": audiences,
        "oidcRPMetaDataOptionsUserIDAttr": "uid",
        "oidcRPMetaDataOptionsIDTokenForceClaims": 1,
        # the password grant only serves the tests, to get access tokens without a browser
        "oidcRPMetaDataOptionsAllowPasswordGrant": 1,
        "oidcRPMetaDataOptionsLogoutBypassConfirm": 1,
        "oidcRPMetaDataOptionsPublic": 0,
    }
    return options


secret = os.environ["CLIENT_SECRET"]
rps = {
    "geotranquil": rp(client_id, secret, redirects=os.environ["REDIRECTS"],
                      logouts=os.environ["LOGOUTS"], name="geotranquil"),
    # another application of the City: its tokens are not meant for geotranquil (audience)
    "autre-application": rp("autre-application", secret, name="Autre application"),
    # tokens for geotranquil that expire after one second (tests of expiry)
    "geotranquil-court": rp("geotranquil-court", secret, access_seconds=1,
                            audiences=client_id, name="geotranquil (jetons courts)"),
    # opaque access tokens (LemonLDAP::NG's default), checked by introspection
    "geotranquil-opaque": rp("geotranquil-opaque", secret, jwt=0,
                             name="geotranquil (jetons opaques)"),
}
conf = {
    "cfgNum": 1,
    "cfgVersion": "2.16.1",
    "cfgAuthor": "geotranquil scripts/oidc.sh",
    "authentication": "Demo",
    "userDB": "Same",
    "passwordDB": "Demo",
    "registerDB": "Null",
    "demoExportedVars": {"cn": "cn", "mail": "mail", "uid": "uid"},
    "exportedVars": {},
    "groups": {
        "geotranquil-administrateurs": "$uid eq 'dwho'",
        "geotranquil-analystes": "$uid eq 'rtyler'",
        "geotranquil-agents": "$uid eq 'cnoble'",
        "geotranquil-urbanistes": "$uid eq 'msmith'",
    },
    "macros": {"_whatToTrace": "lc($_user)"},
    "whatToTrace": "_whatToTrace",
    "portal": issuer + "/",
    "domain": "127.0.0.1",
    "cookieName": "lemonldap",
    "securedCookie": 0,
    "timeout": 72000,
    "globalStorage": "Apache::Session::File",
    "globalStorageOptions": {
        "Directory": str(home / "sessions"),
        "LockDirectory": str(home / "sessions/lock"),
        "generateModule": "Lemonldap::NG::Common::Apache::Session::Generate::SHA256",
    },
    "persistentStorage": "Apache::Session::File",
    "persistentStorageOptions": {
        "Directory": str(home / "psessions"),
        "LockDirectory": str(home / "psessions/lock"),
    },
    "localSessionStorage": "Cache::FileCache",
    "localSessionStorageOptions": {
        "cache_depth": 3, "cache_root": str(home / "cache"), "default_expires_in": 600,
        "directory_umask": "007", "namespace": "lemonldap-ng-sessions",
    },
    "notification": 0,
    "loginHistoryEnabled": 0,
    "portalSkin": "bootstrap",
    "locationRules": {"127.0.0.1": {"default": "accept"}},
    "issuerDBOpenIDConnectActivation": 1,
    "oidcServiceMetaDataIssuer": issuer,
    "oidcServicePrivateKeySig": (home / "signing.key").read_text(),
    "oidcServicePublicKeySig": (home / "signing.pub").read_text(),
    "oidcServiceKeyIdSig": (home / "signing.kid").read_text().strip(),
    "oidcServiceAllowAuthorizationCodeFlow": 1,
    "oidcServiceIgnoreScopeForClaims": 1,
    "oidcRPMetaDataOptions": rps,
    "oidcRPMetaDataExportedVars": {name: dict(claims) for name in rps},
    "oidcRPMetaDataOptionsExtraClaims": {name: {"groups": "groups"} for name in rps},
}
target = home / "conf" / "lmConf-1.json"
# the provider reloads a configuration whose date changed: the date follows the content
digest = hashlib.sha256(json.dumps(conf, sort_keys=True).encode()).hexdigest()
conf["cfgDate"] = str(1_000_000_000 + int(digest[:7], 16))
text = json.dumps(conf, indent=2, sort_keys=True) + "\n"
if not target.exists() or target.read_text() != text:
    target.write_text(text)
    (home / "run" / "config-changed").touch()
PY

cat >"$OIDC_HOME/nginx/nginx.conf" <<NGINX
# nginx in front of LemonLDAP::NG's FastCGI portal (written by geotranquil scripts/oidc.sh)
daemon on;
user www-data;
worker_processes 1;
pid $NGINX_PID;
error_log $OIDC_HOME/log/nginx-error.log warn;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  access_log $OIDC_HOME/log/nginx-access.log;
  client_body_temp_path $OIDC_HOME/nginx/body;
  fastcgi_temp_path $OIDC_HOME/nginx/fastcgi;
  proxy_temp_path $OIDC_HOME/nginx/proxy;
  uwsgi_temp_path $OIDC_HOME/nginx/uwsgi;
  scgi_temp_path $OIDC_HOME/nginx/scgi;
  server {
    listen 127.0.0.1:$OIDC_PORT;
    server_name 127.0.0.1;
    root /usr/share/lemonldap-ng/portal/htdocs/;
    if (\$uri !~ ^/((static|javascript|favicon).*|.*\.psgi)) {
      rewrite ^/(.*)\$ /index.psgi/\$1 break;
    }
    location ~ ^(?<sc>/.*\.psgi)(?:\$|/) {
      include /etc/nginx/fastcgi_params;
      fastcgi_pass unix:$FCGI_SOCKET;
      fastcgi_param HTTP_HOST \$http_host;
      fastcgi_param LLTYPE psgi;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_split_path_info ^(.*\.psgi)(/.*)\$;
      fastcgi_param PATH_INFO \$fastcgi_path_info;
    }
    location /static/ { alias /usr/share/lemonldap-ng/portal/htdocs/static/; }
    location /javascript/ { alias /usr/share/javascript/; }
  }
}
NGINX

# 4. Start (or restart) the two processes ----------------------------------------------------
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [ -e "$OIDC_HOME/run/config-changed" ] && running "$FCGI_PID"; then
  say "configuration modifiée : redémarrage du serveur FastCGI"
  stop_pidfile "$FCGI_PID"
fi
if ! running "$FCGI_PID"; then
  rm -rf "${OIDC_HOME:?}/cache/"* "$FCGI_SOCKET"
  say "démarrage du portail LemonLDAP::NG (FastCGI)"
  # the server refuses to run as root: it runs as www-data, which owns $OIDC_HOME
  chown -R www-data:www-data "$OIDC_HOME"
  env LLNG_DEFAULTCONFFILE="$OIDC_HOME/lemonldap-ng.ini" \
    LLNG_DEFAULTLOGGER=Lemonldap::NG::Common::Logger::Std \
    USER=www-data GROUP=www-data \
    setsid /usr/sbin/llng-fastcgi-server --proc 2 --socket "$FCGI_SOCKET" --pid "$FCGI_PID" \
    --customFunctionsFile "$OIDC_HOME/demo_accounts.pm" \
    >>"$OIDC_HOME/log/llng.log" 2>&1 </dev/null &
fi
rm -f "$OIDC_HOME/run/config-changed"
deadline=$((SECONDS + 30))
while [ ! -S "$FCGI_SOCKET" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
[ -S "$FCGI_SOCKET" ] || { say "le serveur FastCGI n'a pas démarré (voir $OIDC_HOME/log/llng.log)"; exit 1; }

if ! running "$NGINX_PID"; then
  say "démarrage de nginx sur 127.0.0.1:$OIDC_PORT"
  nginx -c "$OIDC_HOME/nginx/nginx.conf" -p "$OIDC_HOME/nginx" -e "$OIDC_HOME/log/nginx-error.log"
fi

DISCOVERY="$ISSUER/.well-known/openid-configuration"
ready=0
deadline=$((SECONDS + 60))
while [ "$SECONDS" -lt "$deadline" ]; do
  if curl -fsS -m 5 -o /dev/null "$DISCOVERY" 2>/dev/null; then ready=1; break; fi
  sleep 0.2
done
if [ "$ready" != 1 ]; then
  say "le fournisseur ne répond pas sur $DISCOVERY (voir $OIDC_HOME/log/)"
  exit 1
fi

cat >"$OIDC_HOME/geotranquil.env" <<ENV
GEOTRANQUIL_OIDC_ISSUER=$ISSUER
GEOTRANQUIL_OIDC_CLIENT_ID=$CLIENT_ID
GEOTRANQUIL_OIDC_CLIENT_SECRET=$CLIENT_SECRET
ENV
chmod 600 "$OIDC_HOME/geotranquil.env"
say "fournisseur OpenID Connect prêt : $ISSUER (réglages dans $OIDC_HOME/geotranquil.env)"
