// What a member host looks like to everything that touches it: the paths the install and launch
// scripts write, the systemd unit, the membership lock, the ports, how the launch command is
// called, and the defaults of the SSH access and the scripts' waits. Defined once here; the
// renderers in core/, the components, the local hosts (and their systemctl/journalctl shims) and
// the offline plan all read it.
import type { Ports } from "./model";

/** Where the installed files live on a member host. */
export const HOST_PATHS = {
    binDir: "/usr/local/bin",
    releasesDir: "/opt/etcd",
    configDir: "/etc/etcd",
    envFile: "/etc/etcd/etcd.env",
    /** Written only when a member joins a running cluster: `--initial-cluster-state existing`. */
    joinEnvFile: "/etc/etcd/join.env",
    /** Removes the member from its cluster (run before the host goes away; operators can too). */
    leaveScript: "/usr/local/sbin/etcd-aws-leave",
    /**
     * Present while the member's files are newer than its running etcd (a restart refused or
     * interrupted); in /run, so a reboot, which starts etcd with the files, clears it.
     */
    restartPending: "/run/etcd-aws-restart-pending",
    pkiDir: "/etc/etcd/pki",
    unitDir: "/etc/systemd/system",
    unitFile: "/etc/systemd/system/etcd.service",
    dataMount: "/var/lib/etcd",
    dataDir: "/var/lib/etcd/data",
    /** Local hosts only (no systemd there): the stand-in's record of etcd's PID and its output. */
    pidFile: "/run/etcd.pid",
    logFile: "/var/log/etcd.log",
} as const;

/** The systemd unit that runs etcd, at HOST_PATHS.unitFile. */
export const ETCD_UNIT = "etcd.service";

/** TLS files on a member host; keys are 0600 and owned by the etcd user. */
export const PKI_FILES = {
    ca: `${HOST_PATHS.pkiDir}/ca.crt`,
    serverCert: `${HOST_PATHS.pkiDir}/server.crt`,
    serverKey: `${HOST_PATHS.pkiDir}/server.key`,
    peerCert: `${HOST_PATHS.pkiDir}/peer.crt`,
    peerKey: `${HOST_PATHS.pkiDir}/peer.key`,
    /** The member's own admin client certificate (CN root) and key, for the package's scripts on it. */
    clientCert: `${HOST_PATHS.pkiDir}/client.crt`,
    clientKey: `${HOST_PATHS.pkiDir}/client.key`,
} as const;

/** The etcd lock key under which restarts and membership changes happen one member at a time. */
export const MEMBERSHIP_LOCK_KEY = "etcd-aws/membership";

export const DEFAULT_PORTS: Ports = { client: 2379, peer: 2380, metrics: 2381 };

/** The argument of the launch script that allows it to form a new cluster. */
export const BOOTSTRAP_ARG = "--bootstrap";

/** The launch command's shell lines per lifecycle step (the script arrives on stdin). */
export const LAUNCH_COMMANDS = {
    /** First run: the only time a member may form a new cluster. */
    create: `sudo bash -s -- ${BOOTSTRAP_ARG}`,
    /** Later runs: restart on change, or join the running cluster; never form a second one. */
    update: "sudo bash -s",
    /** Before the member goes away (scale-in, destroy): leave the cluster if the rest keep quorum. */
    delete: `if [ -x ${HOST_PATHS.leaveScript} ]; then sudo ${HOST_PATHS.leaveScript}; fi`,
} as const;

/** How every other script runs on a member: as root, the script on stdin. */
export const RUN_SCRIPT_COMMAND = "sudo bash -s";

/** Login user of the Ubuntu AMIs looked up by default. */
export const DEFAULT_SSH_USER = "ubuntu";

/** Seconds a launch or leave waits for the cluster (member healthy, learner promoted, lock taken). */
export const MEMBERSHIP_WAIT_SECONDS = 300;

/** Seconds between a waiting script's reports of what it waits for. */
export const REPORT_EVERY_SECONDS = 30;
