#!/usr/bin/env bash
# A throwaway one-node SLURM cluster on this machine, for tests and for trying the SLURM path.
#
#   scripts/slurm_cluster.sh install      # apt-get the Debian packages (as root)
#   scripts/slurm_cluster.sh start DIR    # munged, slurmctld and slurmd, all state under DIR
#   export SLURM_CONF=DIR/slurm.conf      # what sbatch, squeue and scancel read
#   scripts/slurm_cluster.sh stop DIR     # ends the three daemons started by `start DIR`
#
# Everything lives in DIR (key, sockets, spool, state, logs): nothing in /etc is changed, and
# the daemons listen on free ports, so the cluster can run beside anything else. Accounting is
# off (no slurmdbd): `sacct` has nothing to say here, see docs/sweeps.md.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

usage() {
    echo "usage: $0 install | start DIR | stop DIR | status DIR" >&2
    exit 2
}

install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_conf() {
    local dir=$1 host cpus memory
    host=$(hostname -s)
    # The cores this machine gives us; nproc alone would read a thread limit (OMP_NUM_THREADS).
    cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
    # Leave the node some memory of its own; jobs ask for theirs with --mem.
    memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    cat >"$dir/slurm.conf" <<CONF
ClusterName=throwaway
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# No slurmdbd: no accounting database, so sacct reports nothing.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Quick turnarounds for tests: a cancelled or timed-out job is killed 5 s after SIGTERM.
KillWait=5
MessageTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munged() {
    local dir=$1
    mkdir -p "$dir/munge"
    chmod 700 "$dir/munge"
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=128 status=none
    chmod 400 "$dir/munge/munge.key"
    # --force: munged refuses a key and socket outside /etc and /run unless told.
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed"
}

wait_for_node() {
    local tries=60
    while ((tries-- > 0)); do
        if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            return 0
        fi
        sleep 0.5
    done
    echo "the node did not come up; see $1/log/" >&2
    return 1
}

start() {
    local dir
    mkdir -p "$1"
    dir=$(cd "$1" && pwd)
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    write_conf "$dir"
    export SLURM_CONF=$dir/slurm.conf
    start_munged "$dir"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    wait_for_node "$dir"
    echo "export SLURM_CONF=$SLURM_CONF"
}

stop_daemon() {
    local pid_file=$1 pid
    [ -f "$pid_file" ] || return 0
    pid=$(cat "$pid_file")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    local dir=$1
    export SLURM_CONF=$dir/slurm.conf
    scancel --full --quiet --user=root 2>/dev/null || true
    stop_daemon "$dir/slurmd.pid"
    stop_daemon "$dir/slurmctld.pid"
    stop_daemon "$dir/munge/munged.pid"
}

case "${1:-}" in
    install) install_packages ;;
    start) [ $# -eq 2 ] || usage; start "$2" ;;
    stop) [ $# -eq 2 ] || usage; stop "$2" ;;
    status) [ $# -eq 2 ] || usage; SLURM_CONF=$2/slurm.conf sinfo ;;
    *) usage ;;
esac
