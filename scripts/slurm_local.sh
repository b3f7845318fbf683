#!/usr/bin/env bash
# A private one-node Slurm cluster on this machine, for the tests that
# launch training with `srun` (train/tests/mpi.rs): its own munge key and
# socket, slurmctld and slurmd, every file under DIR. Needs root (slurmd
# runs job steps as their user) and Debian's slurmd, slurmctld,
# slurm-client and munge (scripts/setup.sh installs them).
#
#   scripts/slurm_local.sh start DIR   prints the SLURM_CONF to export
#   scripts/slurm_local.sh stop DIR
set -euo pipefail
cmd=${1:-} dir=${2:-}
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
dir=$(realpath -m "$dir")
conf=$dir/slurm.conf

stop() {
  local pids=()
  for f in "$dir"/slurmd.pid "$dir"/slurmctld.pid "$dir"/munged.pid; do
    [ -f "$f" ] && pids+=("$(cat "$f")") && rm -f "$f"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 40); do
    kill -0 "${pids[@]}" 2>/dev/null || return 0
    sleep 0.25
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}

case "$cmd" in
start)
  mkdir -p "$dir"/{state,spool,log}
  # munge: a fresh key (munged wants it private to its user) and a socket here
  dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
  chmod 600 "$dir/munge.key"
  munged --force --socket="$dir/munge.sock" --key-file="$dir/munge.key" \
    --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munged.seed"
  # The node is this machine at 127.0.0.1 (no name resolution needed).
  # Ports from the 5-digit range, picked per directory so that two clusters
  # (two checkouts) do not collide.
  base=$((20000 + $(cksum <<<"$dir" | cut -d' ' -f1) % 20000 * 2))
  host=$(hostname -s)
  cat > "$conf" <<CONF
ClusterName=smae-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=$base
SlurmdPort=$((base + 1))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  SLURM_CONF=$conf slurmctld -f "$conf"
  SLURM_CONF=$conf slurmd -f "$conf"
  # wait until the node takes jobs
  for _ in $(seq 60); do
    if SLURM_CONF=$conf sinfo -h -o %t 2>/dev/null | grep -qx idle; then
      echo "$conf"
      exit 0
    fi
    sleep 0.5
  done
  echo "error: the local Slurm node did not come up (logs in $dir/log)" >&2
  stop
  exit 1
  ;;
stop) stop ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
