# bash completion for bulwarkc and bulwark (installed as completions/bulwarkc and
# completions/bulwark). Subcommands, options and the values of options with a fixed set
# are read from the program's own --help (CLI11's layout), so they always match the
# installed version.

# Options of a --help text, one per line ("-o,--output TEXT" gives -o and --output).
_bulwark_options() {
  awk '/^  -/ { n = split($1, names, ","); for (i = 1; i <= n; i++) print names[i] }'
}

# Subcommands listed under "Subcommands:".
_bulwark_subcommands() {
  awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } /^$/ { on = 0 }'
}

# What option $1 takes: its fixed set ("--format TEXT:{text,json}" gives "text json"),
# "__value__" for a free value, nothing for a flag.
_bulwark_option_values() {
  awk -v opt="$1" '/^  -/ {
    n = split($1, names, ",")
    for (i = 1; i <= n; i++) if (names[i] == opt) {
      if (match($0, /:\{[^}]*\}/)) { s = substr($0, RSTART + 2, RLENGTH - 3); gsub(",", " ", s); print s }
      else if ($2 ~ /^[A-Z]/) print "__value__"
      exit
    }
  }'
}

_bulwark_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} prog=${COMP_WORDS[0]}
  local sub= i help values
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ ${COMP_WORDS[i]} != -* ]]; then sub=${COMP_WORDS[i]}; break; fi
  done
  COMPREPLY=()
  if [[ -z $sub ]]; then
    help=$("$prog" --help 2>/dev/null)
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$(_bulwark_options <<<"$help")" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$(_bulwark_subcommands <<<"$help")" -- "$cur"))
    fi
    return 0
  fi
  help=$("$prog" "$sub" --help 2>/dev/null)
  if [[ $prev == -* && $COMP_CWORD -gt 1 ]]; then
    values=$(_bulwark_option_values "$prev" <<<"$help")
    if [[ -n $values && $values != __value__ ]]; then
      COMPREPLY=($(compgen -W "$values" -- "$cur"))
      return 0
    fi
    if [[ $values == __value__ ]]; then
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_bulwark_options <<<"$help")" -- "$cur"))
  else
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}

complete -F _bulwark_complete bulwarkc bulwark
