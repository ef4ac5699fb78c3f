#!/usr/bin/env bash
# redis_users.sh DIR — the Redis ACL users of hilo (docs/operations.md, "Redis users"): writes,
# once, a random password per user into DIR/redis-<user>.pass (mode 0600) and DIR/users.acl
# (mode 0600; the passwords only as SHA-256 hashes) for redis.conf's `aclfile`. Run again, it
# keeps the passwords and rewrites users.acl. deploy/quickstart.sh and the tests use it.
#   hilo-router  the router: hilo:* keys, its scripts, client tracking (the identity cache)
#   hilo-cli     the operator CLI: hilo:* keys
#   hilo-read    read-only on hilo:* (dashboards, ad-hoc looks)
#   the default user is off: a connection must log in.
# No administrative command (CONFIG, FLUSHALL, KEYS, SHUTDOWN, DEBUG, ACL, MODULE, ...) for
# any of them: -@dangerous. Administer Redis as a separate admin user of your own, kept out of
# hilo's config (HILO_REDIS_ADMIN_PASSWORD: this script adds hilo-admin with that password).
set -euo pipefail
dir=${1:?usage: redis_users.sh DIR}
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

declare -A rules=(
  [hilo-router]='~hilo:* &__redis__:invalidate +@all -@dangerous +client|id +client|tracking'
  [hilo-cli]='~hilo:* +@all -@dangerous'
  [hilo-read]='~hilo:* +@read +@connection -@dangerous'
)

hash_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

acl=$dir/users.acl.tmp
echo "user default off" >"$acl"
for user in hilo-router hilo-cli hilo-read; do
  pass=$dir/redis-$user.pass
  if [ ! -s "$pass" ]; then
    # 32 random bytes, base64 without padding: 43 characters, no character the config or a
    # shell would trip over after '=' and '/' are dropped.
    head -c 32 /dev/urandom | base64 | tr -d '=+/\n' >"$pass"
    echo >>"$pass"
  fi
  chmod 600 "$pass"
  echo "user $user on #$(hash_of "$(head -n 1 "$pass")") resetchannels ${rules[$user]}" >>"$acl"
done
if [ -n "${HILO_REDIS_ADMIN_PASSWORD:-}" ]; then
  echo "user hilo-admin on #$(hash_of "$HILO_REDIS_ADMIN_PASSWORD") ~* &* +@all" >>"$acl"
fi
mv "$acl" "$dir/users.acl"
