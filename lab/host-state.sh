#!/usr/bin/env bash
# Prints what the level-2 lab may change on the host, one sorted line per fact: the sysctls it sets,
# the br_netfilter module, iptables chains (per table, with their rule counts), ipsets, network
# namespaces, network links and the fixed paths the tools create. lab/e2e-airflow.sh takes it before
# the lab starts and after lab/down.sh, and fails when they differ.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
{
  for s in $LAB_SYSCTLS; do echo "sysctl $s=$(sysctl -n "$s" 2>/dev/null || echo absent)"; done
  if [ -d /sys/module/br_netfilter ]; then echo "module br_netfilter loaded"; else echo "module br_netfilter absent"; fi
  for ipt in iptables ip6tables; do
    command -v "$ipt-save" >/dev/null 2>&1 || continue
    for table in filter nat mangle raw; do
      "$ipt-save" -t "$table" 2>/dev/null | awk -v t="$ipt/$table" '
        /^:/ { name = substr($1, 2); policy[name] = $2; rules[name] = 0 }
        /^-A / { rules[$2]++ }
        END { for (c in policy) printf "chain %s %s policy=%s rules=%d\n", t, c, policy[c], rules[c] }'
    done
  done
  if command -v ipset >/dev/null 2>&1; then ipset list -n 2>/dev/null | sed 's/^/ipset /'; fi
  ip netns list 2>/dev/null | awk '{print "netns " $1}'
  ip -o link show 2>/dev/null | awk -F': ' '{split($2, n, "@"); print "link " n[1]}'
  for p in $LAB_FIXED_PATHS; do [ -e "$p" ] && echo "path $p"; done
  true
} | sort
