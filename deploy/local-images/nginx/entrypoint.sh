#!/bin/sh
# As the official image: each /etc/nginx/templates/X.template becomes /etc/nginx/conf.d/X, with
# only the variables the environment defines substituted (nginx's own $host stays).
set -eu
defined=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
for template in /etc/nginx/templates/*.template; do
  [ -e "$template" ] || continue
  name=$(basename "$template" .template)
  envsubst "$defined" < "$template" > "/etc/nginx/conf.d/$name"
done
exec "$@"
