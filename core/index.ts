// The configuration core: plain data in, rendered etcd configuration out. No Pulumi imports,
// so the same functions serve the components, the local real-etcd harness and the tests.
export * from "./bootstrap-check";
export * from "./dns";
export * from "./firewall";
export * from "./flags";
export * from "./host-contract";
export * from "./install";
export * from "./launch";
export * from "./legacy-flags";
export * from "./model";
export * from "./net";
export * from "./problems";
export * from "./scripts/auth";
export * from "./scripts/discovery-size";
export * from "./scripts/health-gate";
export * from "./settings";
export * from "./spec";
export * from "./stack-config";
export * from "./validate";
export * from "./versions";
