//! The deployment slices: Kubernetes manifests under deploy/k8s, the GitHub Actions workflow and
//! cargo-deny's rules, checked with the tools a user would run. One file a family:
//!
//! - `manifests`: what kustomize builds from deploy/k8s (`kubectl kustomize`, the same code as
//!   `kubectl apply -k`) validates against the Kubernetes schemas of two versions
//!   (`kubernetes-validate`, which bundles them), for every combination of the slices that
//!   shape the manifests. Secrets come only from files the user writes and git ignores:
//!   without them the build stops naming the file, so no placeholder Secret can ever replace a
//!   real one.
//! - `releases`: a second apply is safe. Between two releases (a new image tag, then a changed
//!   setting) the pod template changes so the pods roll, the ConfigMap's hashed name follows its
//!   content, and nothing immutable changes (selectors, the Service's cluster IP; there is no
//!   Job).
//! - `workflow`: the workflow validates against GitHub's workflow schema (`check-jsonschema`,
//!   bundled schema), keeps its `${{ }}` expressions and only reads the repository.
//! - `scanners`: checkov (a third-party scanner) reports no failed check on any distinct
//!   Dockerfile, kustomize output or workflow; checks that do not fit are skipped next to the
//!   resource with a reason, and the test prints the passed/failed/skipped counts of each.
//!   cargo-deny's licenses, bans and sources checks pass on the all-on render with its own
//!   deny.toml (`--offline`: the advisories check needs the RustSec database from the network,
//!   so it runs in the generated project's CI only).
//! - `consistency`: the built service, started with exactly the environment the built ConfigMap
//!   and Secret give it (secret volumes written as files), runs the Deployment's `migrate`
//!   initContainer, binds the container port and answers its probes; preStop + shutdown
//!   deadline fit in the grace period. A test breaks a probe path, a port, a variable name and
//!   the initContainer's command in turn and checks that the consistency check notices each.
//!
//! - `catalog`: the catalog slice's `catalog-info.yaml` validates as a Backstage Component
//!   (zatalog's schema of Backstage's entity kinds), holds the values given, and with the
//!   kubernetes slice names the `backstage.io/kubernetes-id` label that kustomize puts on every
//!   object and pod; with the slice off, neither the file nor the label exists.
//!
//! kubectl, kubernetes-validate, check-jsonschema, checkov, cargo-deny and zatalog must be
//! installed (`bash .ci/run` installs them); a missing one fails the test, saying how to get it.

mod catalog;
mod consistency;
mod manifests;
mod releases;
mod scanners;
mod workflow;
