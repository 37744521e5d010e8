#!/usr/bin/env bash
# Fetches the real form plugins the WordPress plugin's tests run against, each at the release
# they were tested with, into the directory given (then: export WP_FORM_PLUGINS_DIR=<dir>).
#
#   clients/wordpress/tests/fetch-form-plugins.sh ~/wp-form-plugins
#
# From GitHub by default; with FORM_PLUGINS_MIRROR=<dir>, from bare repositories already on the
# machine, named <owner>+<name> (or <owner>+<name>/repo) under it. Their code is never committed
# here: each keeps its own licence (GPL) in its own folder.
set -euo pipefail

target=${1:?usage: fetch-form-plugins.sh <directory>}
mkdir -p "$target"

# folder  repository  commit (the release)
plugins=(
  "contact-form-7 rocklobster-in/contact-form-7 7e7ebb3131dc9727613dac86824f1fc77a67b2a8 v5.7.7"
  "fluentform fluentform/fluentform eabaf8069f6eff0fd9e4528169837dbb6fd5e5a4 6.1.2"
  "formidable Strategy11/formidable-forms 039ccc2f29d61df6ffa2963012a1a17dc94f406e v6.25.1"
  # WPForms publishes no repository: a copy of the wordpress.org package, "Version 1.8.9.6".
  "wpforms-lite projectestac/wordpress-wpforms-lite b44c4f29ccc79b8178158b1cc465afc6c191652a 1.8.9.6"
)

for spec in "${plugins[@]}"; do
  read -r folder repository commit release <<<"$spec"
  if [ -f "$target/$folder/.formbridge-release" ] && [ "$(cat "$target/$folder/.formbridge-release")" = "$commit" ]; then
    echo "$folder $release: already there"
    continue
  fi
  rm -rf "${target:?}/$folder"
  mkdir -p "$target/$folder"
  if [ -n "${FORM_PLUGINS_MIRROR:-}" ]; then
    bare="$FORM_PLUGINS_MIRROR/${repository/\//+}"
    [ -d "$bare/repo" ] && bare="$bare/repo"
    git --git-dir="$bare" archive "$commit" | tar -x -C "$target/$folder"
  else
    scratch=$(mktemp -d)
    git -C "$scratch" init -q
    git -C "$scratch" fetch -q --depth 1 "https://github.com/$repository.git" "$commit"
    git -C "$scratch" archive FETCH_HEAD | tar -x -C "$target/$folder"
    rm -rf "$scratch"
  fi
  echo "$commit" >"$target/$folder/.formbridge-release"
  echo "$folder $release: fetched from $repository"
done
