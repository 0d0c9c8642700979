//! A deterministic generator of realistic GitOps trees and AdmissionReview bodies.
//!
//! The tree is `clusters/<cluster>/<namespace>/<app>.yaml`, each file a multi-document YAML
//! stream of one to six workloads (Deployments, DaemonSets, StatefulSets) of one application,
//! with one to four containers, with and without resources, about 5 KB per object, written the
//! way people write them (block style, comments, quoted strings, flow lists here and there).
//! The "after" tree is the same with a fraction of the objects changed: image bumps (most),
//! limits removed, limits raised, requests removed, a DaemonSet rolled out everywhere at once,
//! and a few new workloads, so that `check` has real work to do.
//!
//! Everything comes from one seed (SplitMix64), so the same options give the same bytes.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

/// What to generate.
#[derive(Debug, Clone)]
pub struct CorpusOptions {
    /// Number of objects in the before tree (the after tree has a few more).
    pub objects: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for CorpusOptions {
    fn default() -> Self {
        Self {
            objects: 5_000,
            seed: 0x00c4_a6e1_1a7e,
        }
    }
}

/// One file of the tree, on both sides.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    /// Path relative to the tree root, with `/` separators.
    pub path: String,
    /// The file's text before the change.
    pub before: String,
    /// The file's text after the change.
    pub after: String,
}

/// How many objects of each change the after tree holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    /// Objects whose first container got a new image tag.
    pub image_bumps: usize,
    /// Containers whose limits were deleted.
    pub limits_removed: usize,
    /// Containers whose memory limit grew eightfold.
    pub limits_raised: usize,
    /// Containers whose requests were deleted.
    pub requests_removed: usize,
    /// DaemonSets switched to `maxUnavailable: 100%`.
    pub rollouts_everywhere: usize,
    /// Workloads added in the after tree.
    pub added: usize,
}

/// A generated tree.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Every file, in path order.
    pub files: Vec<CorpusFile>,
    /// Objects in the before tree.
    pub objects: usize,
    /// What the after tree changes.
    pub changes: ChangeCounts,
}

impl Corpus {
    /// Generates the tree.
    pub fn generate(options: &CorpusOptions) -> Self {
        let mut rng = Rng::new(options.seed);
        let clusters = (options.objects / 500).clamp(2, 100);
        let mut files = Vec::new();
        let mut changes = ChangeCounts::default();
        let mut made = 0;
        let mut app_index = 0;
        while made < options.objects {
            let count = rng.range(1, 6).min(options.objects - made);
            let cluster = format!(
                "{}-{}",
                REGIONS[app_index % REGIONS.len()],
                app_index % clusters
            );
            let namespace = *rng.pick(NAMESPACES);
            let app = format!("{}-{}", rng.pick(APPS), app_index);
            app_index += 1;
            let mut before = Vec::with_capacity(count);
            for component in 0..count {
                before.push(Workload::random(&mut rng, &app, namespace, component));
            }
            let mut after = before.clone();
            for workload in &mut after {
                workload.mutate(&mut rng, &mut changes);
            }
            if rng.chance(5, 1000) {
                let mut added = Workload::random(&mut rng, &app, namespace, count);
                added.name.push_str("-canary");
                after.push(added);
                changes.added += 1;
            }
            files.push(CorpusFile {
                path: format!("clusters/{cluster}/{namespace}/{app}.yaml"),
                before: render_file(&before),
                after: render_file(&after),
            });
            made += count;
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Self {
            files,
            objects: made,
            changes,
        }
    }

    /// Writes `<dir>/before/...` and `<dir>/after/...`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        for file in &self.files {
            for (side, text) in [("before", &file.before), ("after", &file.after)] {
                let path = dir.join(side).join(&file.path);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(path, text)?;
            }
        }
        Ok(())
    }

    /// Total bytes of the before tree.
    pub fn before_bytes(&self) -> usize {
        self.files.iter().map(|f| f.before.len()).sum()
    }
}

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn range(&mut self, low: usize, high: usize) -> usize {
        low + (self.next() % (high - low + 1) as u64) as usize
    }

    /// True with probability `n / d`.
    fn chance(&mut self, n: u64, d: u64) -> bool {
        self.next() % d < n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() - 1)]
    }
}

const REGIONS: &[&str] = &["eu-west", "us-east", "ap-south", "us-west"];
const NAMESPACES: &[&str] = &[
    "payments",
    "checkout",
    "search",
    "catalog",
    "identity",
    "observability",
    "logging",
    "ingress",
    "data",
    "ml-serving",
    "notifications",
    "platform",
];
const APPS: &[&str] = &[
    "api",
    "gateway",
    "indexer",
    "ledger",
    "shipper",
    "collector",
    "renderer",
    "scheduler",
    "recommender",
    "session",
    "billing",
    "mailer",
];
const COMPONENTS: &[&str] = &["web", "worker", "agent", "db", "cache", "cron", "proxy"];
const SIDECARS: &[&str] = &["envoy", "fluent-bit", "oauth2-proxy", "statsd-exporter"];
const MEMORY: &[&str] = &["64Mi", "128Mi", "256Mi", "512Mi", "1Gi", "2Gi", "4Gi"];
const CPU: &[&str] = &["50m", "100m", "250m", "500m", "1", "2"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployment,
    DaemonSet,
    StatefulSet,
}

#[derive(Debug, Clone)]
struct Resources {
    cpu_request: Option<&'static str>,
    memory_request: Option<&'static str>,
    cpu_limit: Option<&'static str>,
    memory_limit: Option<String>,
}

#[derive(Debug, Clone)]
struct Container {
    name: String,
    image: String,
    version: (usize, usize, usize),
    resources: Option<Resources>,
    env: usize,
    ports: usize,
    probes: bool,
    mounts: usize,
}

#[derive(Debug, Clone)]
struct Workload {
    kind: Kind,
    name: String,
    app: String,
    namespace: &'static str,
    team: &'static str,
    replicas: usize,
    max_unavailable: &'static str,
    containers: Vec<Container>,
    init: bool,
    tolerations: bool,
    affinity: bool,
    filler: u64,
}

impl Workload {
    fn random(rng: &mut Rng, app: &str, namespace: &'static str, component: usize) -> Self {
        let kind = match rng.range(0, 9) {
            0..=5 => Kind::Deployment,
            6..=7 => Kind::DaemonSet,
            _ => Kind::StatefulSet,
        };
        let suffix = COMPONENTS[component % COMPONENTS.len()];
        let name = format!("{app}-{suffix}");
        let count = rng.range(1, 4);
        let containers = (0..count)
            .map(|index| {
                let name = if index == 0 {
                    suffix.to_owned()
                } else {
                    SIDECARS[(index - 1) % SIDECARS.len()].to_owned()
                };
                let resources = (!rng.chance(1, 4)).then(|| {
                    let memory = rng.range(0, MEMORY.len() - 2);
                    Resources {
                        cpu_request: Some(*rng.pick(CPU)),
                        memory_request: Some(MEMORY[memory]),
                        cpu_limit: (!rng.chance(1, 3)).then(|| *rng.pick(CPU)),
                        memory_limit: (!rng.chance(1, 8)).then(|| MEMORY[memory + 1].to_owned()),
                    }
                });
                Container {
                    image: format!("registry.example.com/{namespace}/{name}"),
                    name,
                    version: (rng.range(1, 9), rng.range(0, 30), rng.range(0, 20)),
                    resources,
                    env: rng.range(3, 10),
                    ports: rng.range(0, 2),
                    probes: rng.chance(3, 4),
                    mounts: rng.range(0, 3),
                }
            })
            .collect();
        Self {
            kind,
            name,
            app: app.to_owned(),
            namespace,
            team: *rng.pick(&["core", "growth", "infra", "sre", "data"]),
            replicas: rng.range(1, 12),
            max_unavailable: *rng.pick(&["1", "10%", "5%"]),
            containers,
            init: rng.chance(1, 5),
            tolerations: kind == Kind::DaemonSet || rng.chance(1, 6),
            affinity: rng.chance(1, 2),
            filler: rng.next(),
        }
    }

    fn mutate(&mut self, rng: &mut Rng, changes: &mut ChangeCounts) {
        let roll = rng.range(0, 999);
        let with_limits = self.containers.iter().position(|c| {
            c.resources
                .as_ref()
                .is_some_and(|r| r.memory_limit.is_some())
        });
        match roll {
            0..=79 => {
                self.containers[0].version.2 += 1;
                changes.image_bumps += 1;
            }
            80..=99 => {
                if let Some(index) = with_limits {
                    let resources = self.containers[index].resources.as_mut().expect("limits");
                    resources.cpu_limit = None;
                    resources.memory_limit = None;
                    changes.limits_removed += 1;
                }
            }
            100..=119 => {
                if let Some(index) = with_limits {
                    let resources = self.containers[index].resources.as_mut().expect("limits");
                    let old = resources.memory_limit.take().unwrap_or_default();
                    let (number, unit) = old.split_at(old.len() - 2);
                    let number: usize = number.parse().unwrap_or(1);
                    resources.memory_limit = Some(format!("{}{unit}", number * 8));
                    changes.limits_raised += 1;
                }
            }
            120..=129 => {
                if let Some(resources) = self
                    .containers
                    .last_mut()
                    .and_then(|c| c.resources.as_mut())
                {
                    resources.cpu_request = None;
                    resources.memory_request = None;
                    changes.requests_removed += 1;
                }
            }
            130..=134 if self.kind == Kind::DaemonSet => {
                self.max_unavailable = "100%";
                changes.rollouts_everywhere += 1;
            }
            _ => {}
        }
    }
}

fn render_file(workloads: &[Workload]) -> String {
    let mut out = String::with_capacity(workloads.len() * 5_500);
    for workload in workloads {
        out.push_str("---\n");
        render(workload, &mut out);
    }
    out
}

fn render(w: &Workload, out: &mut String) {
    let kind = match w.kind {
        Kind::Deployment => "Deployment",
        Kind::DaemonSet => "DaemonSet",
        Kind::StatefulSet => "StatefulSet",
    };
    let mut rng = Rng::new(w.filler);
    let o = out;
    let _ = writeln!(
        o,
        "# {kind} for {} ({} team); managed by GitOps",
        w.app, w.team
    );
    let _ = writeln!(o, "apiVersion: apps/v1\nkind: {kind}\nmetadata:");
    let _ = writeln!(o, "  name: {}\n  namespace: {}", w.name, w.namespace);
    let _ = writeln!(o, "  labels:");
    let _ = writeln!(o, "    app.kubernetes.io/name: {}", w.name);
    let _ = writeln!(o, "    app.kubernetes.io/part-of: {}", w.app);
    let _ = writeln!(o, "    app.kubernetes.io/managed-by: argocd");
    let _ = writeln!(o, "    team: {}", w.team);
    let _ = writeln!(o, "  annotations:");
    let _ = writeln!(
        o,
        "    argocd.argoproj.io/sync-wave: \"{}\"",
        rng.range(0, 5)
    );
    let _ = writeln!(
        o,
        "    owner: \"{}@example.com\"\n    runbook: https://runbooks.example.com/{}/{}",
        w.team, w.namespace, w.name
    );
    let _ = writeln!(o, "spec:");
    if w.kind != Kind::DaemonSet {
        let _ = writeln!(o, "  replicas: {}", w.replicas);
    }
    if w.kind == Kind::StatefulSet {
        let _ = writeln!(
            o,
            "  serviceName: {}\n  podManagementPolicy: OrderedReady",
            w.name
        );
    }
    let _ = writeln!(o, "  revisionHistoryLimit: 5");
    let _ = writeln!(
        o,
        "  selector:\n    matchLabels:\n      app.kubernetes.io/name: {}",
        w.name
    );
    match w.kind {
        Kind::Deployment => {
            let _ = writeln!(
                o,
                "  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 25%\n      maxUnavailable: {}",
                w.max_unavailable
            );
        }
        Kind::DaemonSet => {
            let _ = writeln!(
                o,
                "  minReadySeconds: 30\n  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: {}",
                w.max_unavailable
            );
        }
        Kind::StatefulSet => {
            let _ = writeln!(
                o,
                "  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      partition: 0"
            );
        }
    }
    let _ = writeln!(o, "  template:\n    metadata:\n      labels:");
    let _ = writeln!(
        o,
        "        app.kubernetes.io/name: {}\n        team: {}",
        w.name, w.team
    );
    let _ = writeln!(
        o,
        "      annotations:\n        prometheus.io/scrape: \"true\"\n        prometheus.io/port: \"9{:03}\"",
        rng.range(0, 999)
    );
    let _ = writeln!(o, "    spec:");
    let _ = writeln!(o, "      serviceAccountName: {}", w.name);
    let _ = writeln!(
        o,
        "      terminationGracePeriodSeconds: {}",
        rng.range(10, 60)
    );
    let _ = writeln!(
        o,
        "      securityContext:\n        runAsNonRoot: true\n        fsGroup: 2000\n        seccompProfile: {{type: RuntimeDefault}}"
    );
    if w.affinity {
        let _ = writeln!(
            o,
            "      affinity:\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n          - weight: 100\n            podAffinityTerm:\n              topologyKey: kubernetes.io/hostname\n              labelSelector:\n                matchLabels:\n                  app.kubernetes.io/name: {}",
            w.name
        );
    }
    if w.tolerations {
        let _ = writeln!(
            o,
            "      tolerations:\n      - operator: Exists\n        effect: NoSchedule\n      - key: node-role.kubernetes.io/control-plane\n        operator: Exists"
        );
    }
    if w.init {
        let _ = writeln!(
            o,
            "      initContainers:\n      - name: migrate\n        image: registry.example.com/{}/migrate:v1.{}.0\n        command: [\"/bin/migrate\", \"--wait\", \"--timeout=120s\"]\n        resources:\n          requests: {{cpu: 50m, memory: 64Mi}}\n          limits: {{memory: 128Mi}}",
            w.namespace,
            rng.range(0, 9)
        );
    }
    let _ = writeln!(o, "      containers:");
    for c in &w.containers {
        render_container(c, &mut rng, o);
    }
    let _ = writeln!(o, "      volumes:");
    let _ = writeln!(
        o,
        "      - name: config\n        configMap:\n          name: {}-config",
        w.name
    );
    let _ = writeln!(
        o,
        "      - name: tmp\n        emptyDir: {{sizeLimit: 256Mi}}"
    );
    if w.kind == Kind::DaemonSet {
        let _ = writeln!(
            o,
            "      - name: varlog\n        hostPath:\n          path: /var/log\n          type: Directory"
        );
    }
    if w.kind == Kind::StatefulSet {
        let _ = writeln!(
            o,
            "  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      accessModes: [ReadWriteOnce]\n      storageClassName: fast-ssd\n      resources:\n        requests:\n          storage: {}Gi",
            rng.range(1, 50) * 10
        );
    }
}

fn render_container(c: &Container, rng: &mut Rng, o: &mut String) {
    let (major, minor, patch) = c.version;
    let _ = writeln!(o, "      - name: {}", c.name);
    let _ = writeln!(o, "        image: {}:v{major}.{minor}.{patch}", c.image);
    let _ = writeln!(o, "        imagePullPolicy: IfNotPresent");
    let _ = writeln!(
        o,
        "        args:\n        - --log-level=info\n        - --config=/etc/{}/config.yaml",
        c.name
    );
    if c.ports > 0 {
        let _ = writeln!(o, "        ports:");
        for index in 0..c.ports {
            let _ = writeln!(
                o,
                "        - name: {}\n          containerPort: {}\n          protocol: TCP",
                ["http", "metrics", "grpc"][index % 3],
                8080 + index * 10
            );
        }
    }
    let _ = writeln!(o, "        env:");
    for index in 0..c.env {
        match index % 4 {
            0 => {
                let _ = writeln!(
                    o,
                    "        - name: FEATURE_FLAG_{index}\n          value: \"{}\"",
                    if rng.chance(1, 2) { "true" } else { "false" }
                );
            }
            1 => {
                let _ = writeln!(
                    o,
                    "        - name: POD_NAME_{index}\n          valueFrom:\n            fieldRef:\n              fieldPath: metadata.name"
                );
            }
            2 => {
                let _ = writeln!(
                    o,
                    "        - name: UPSTREAM_URL_{index}\n          value: http://upstream-{}.svc.cluster.local:8080/v1",
                    rng.range(0, 99)
                );
            }
            _ => {
                let _ = writeln!(
                    o,
                    "        - name: DB_PASSWORD_{index}\n          valueFrom:\n            secretKeyRef: {{name: db-credentials, key: password}}"
                );
            }
        }
    }
    if let Some(r) = &c.resources {
        let _ = writeln!(o, "        resources:");
        if r.cpu_request.is_some() || r.memory_request.is_some() {
            let _ = writeln!(o, "          requests:");
            if let Some(cpu) = r.cpu_request {
                let _ = writeln!(o, "            cpu: {cpu}");
            }
            if let Some(memory) = r.memory_request {
                let _ = writeln!(o, "            memory: {memory}");
            }
        }
        if r.cpu_limit.is_some() || r.memory_limit.is_some() {
            let _ = writeln!(o, "          limits:");
            if let Some(cpu) = r.cpu_limit {
                let _ = writeln!(o, "            cpu: \"{cpu}\"");
            }
            if let Some(memory) = &r.memory_limit {
                let _ = writeln!(o, "            memory: {memory}");
            }
        }
    }
    if c.probes {
        for probe in ["livenessProbe", "readinessProbe"] {
            let _ = writeln!(
                o,
                "        {probe}:\n          httpGet:\n            path: /healthz\n            port: 8080\n          initialDelaySeconds: {}\n          periodSeconds: 10\n          failureThreshold: 3",
                rng.range(0, 30)
            );
        }
    }
    let _ = writeln!(
        o,
        "        securityContext:\n          allowPrivilegeEscalation: false\n          readOnlyRootFilesystem: true\n          capabilities:\n            drop: [ALL]"
    );
    let _ = writeln!(o, "        volumeMounts:");
    let _ = writeln!(
        o,
        "        - name: config\n          mountPath: /etc/{}\n          readOnly: true",
        c.name
    );
    for index in 0..c.mounts {
        let _ = writeln!(o, "        - name: tmp\n          mountPath: /tmp/{index}");
    }
}

/// What the UPDATE of an [`admission_review`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewChange {
    /// A new image for the shipper: the common case, allowed.
    ImageBump,
    /// The incident: the shipper's limits and requests deleted, denied.
    LimitsRemoved,
}

/// A review the webhook benchmarks send.
#[derive(Debug, Clone)]
pub struct BenchReview {
    /// Its name: `gen-corpus --reviews` writes it as `review-<name>.json`.
    pub name: &'static str,
    /// The AdmissionReview body.
    pub body: Vec<u8>,
    /// Whether changelint's default policy allows it.
    pub allowed: bool,
}

/// The reviews of the webhook benchmarks: the incident on an 8 KB DaemonSet (`8k-deny`), an
/// image bump of the same DaemonSet (`8k-allow`) and an image bump in a 500 KB review
/// (`500k`).
pub fn bench_reviews() -> [BenchReview; 3] {
    let review = |name, object_bytes, change| BenchReview {
        name,
        body: admission_review(object_bytes, change),
        allowed: change == ReviewChange::ImageBump,
    };
    [
        review("8k-deny", 8_000, ReviewChange::LimitsRemoved),
        review("8k-allow", 8_000, ReviewChange::ImageBump),
        review("500k", 250_000, ReviewChange::ImageBump),
    ]
}

/// An AdmissionReview v1 UPDATE of a node-level log-shipper DaemonSet, as the API server sends
/// it: `object` and `oldObject` with `metadata.managedFields`, the last-applied annotation and
/// `status`. Environment variables are added until `object` serializes to at least
/// `object_bytes` (about 8 KB for the common case; 250 KB gives a 500 KB review).
pub fn admission_review(object_bytes: usize, change: ReviewChange) -> Vec<u8> {
    let mut env = 4;
    loop {
        let old = daemonset(env, true, "v2.3.1");
        let new = match change {
            ReviewChange::ImageBump => daemonset(env, true, "v2.3.2"),
            ReviewChange::LimitsRemoved => daemonset(env, false, "v2.3.1"),
        };
        let size = serde_json::to_vec(&new).map_or(0, |v| v.len());
        if size >= object_bytes {
            let review = json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {
                    "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                    "kind": {"group": "apps", "version": "v1", "kind": "DaemonSet"},
                    "resource": {"group": "apps", "version": "v1", "resource": "daemonsets"},
                    "requestKind": {"group": "apps", "version": "v1", "kind": "DaemonSet"},
                    "requestResource": {"group": "apps", "version": "v1", "resource": "daemonsets"},
                    "name": "log-shipper",
                    "namespace": "logging",
                    "operation": "UPDATE",
                    "userInfo": {
                        "username": "system:serviceaccount:argocd:argocd-application-controller",
                        "uid": "014fbff9a07c",
                        "groups": ["system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"]
                    },
                    "object": new,
                    "oldObject": old,
                    "dryRun": false,
                    "options": {"apiVersion": "meta.k8s.io/v1", "kind": "UpdateOptions", "fieldManager": "argocd-controller"}
                }
            });
            return serde_json::to_vec(&review).unwrap_or_default();
        }
        env = env * 5 / 4 + 1;
    }
}

fn daemonset(env: usize, resources: bool, tag: &str) -> Value {
    let env: Vec<Value> = (0..env)
        .map(|i| {
            json!({"name": format!("SHIPPER_OPTION_{i}"), "value": format!("output.elasticsearch.hosts[{i}]=https://es-{i}.logging.svc:9200")})
        })
        .collect();
    let managed: Vec<Value> = (0..env.len())
        .map(|i| json!({format!("k:{{\"name\":\"SHIPPER_OPTION_{i}\"}}"): {".": {}, "f:name": {}, "f:value": {}}}))
        .collect();
    let mut shipper = json!({
        "name": "shipper",
        "image": format!("registry.example.com/logging/shipper:{tag}"),
        "imagePullPolicy": "IfNotPresent",
        "args": ["-c", "/etc/shipper/shipper.yml", "-e"],
        "env": env,
        "securityContext": {"runAsUser": 0, "privileged": false},
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/shipper", "readOnly": true},
            {"name": "varlog", "mountPath": "/var/log", "readOnly": true},
            {"name": "data", "mountPath": "/usr/share/shipper/data"}
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File"
    });
    if resources {
        shipper["resources"] = json!({
            "limits": {"cpu": "200m", "memory": "256Mi"},
            "requests": {"cpu": "100m", "memory": "128Mi"}
        });
    }
    let spec = json!({
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": {"app": "log-shipper"}},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"app": "log-shipper"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-20T10:12:03Z"}},
            "spec": {
                "serviceAccountName": "log-shipper",
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirstWithHostNet",
                "hostNetwork": true,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
                "containers": [
                    shipper,
                    {
                        "name": "metrics",
                        "image": "registry.example.com/logging/shipper-exporter:v0.9.0",
                        "ports": [{"name": "metrics", "containerPort": 9479, "protocol": "TCP"}],
                        "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "10m", "memory": "32Mi"}}
                    }
                ],
                "volumes": [
                    {"name": "config", "configMap": {"name": "log-shipper-config", "defaultMode": 416}},
                    {"name": "varlog", "hostPath": {"path": "/var/log", "type": ""}},
                    {"name": "data", "hostPath": {"path": "/var/lib/shipper-data", "type": "DirectoryOrCreate"}}
                ]
            }
        }
    });
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "log-shipper",
            "namespace": "logging",
            "uid": "4b1a4f63-8f8e-4a3e-9a58-0f3e1c6f4d2a",
            "resourceVersion": "88123456",
            "generation": 42,
            "creationTimestamp": "2025-03-01T08:00:00Z",
            "labels": {"app": "log-shipper", "app.kubernetes.io/part-of": "observability"},
            "annotations": {
                "deprecated.daemonset.template.generation": "42",
                "kubectl.kubernetes.io/last-applied-configuration": serde_json::to_string(&json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": spec.clone()})).unwrap_or_default()
            },
            "managedFields": [
                {
                    "manager": "argocd-controller",
                    "operation": "Update",
                    "apiVersion": "apps/v1",
                    "time": "2026-11-20T10:12:03Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"shipper\"}": {"f:env": managed}}}}}}
                },
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "apps/v1",
                    "time": "2026-11-20T10:14:41Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:status": {"f:currentNumberScheduled": {}, "f:desiredNumberScheduled": {}, "f:numberAvailable": {}, "f:numberReady": {}, "f:observedGeneration": {}, "f:updatedNumberScheduled": {}}},
                    "subresource": "status"
                }
            ]
        },
        "spec": spec,
        "status": {
            "currentNumberScheduled": 180,
            "desiredNumberScheduled": 180,
            "numberAvailable": 180,
            "numberMisscheduled": 0,
            "numberReady": 180,
            "observedGeneration": 42,
            "updatedNumberScheduled": 180
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_about_five_kilobytes_an_object() {
        let options = CorpusOptions {
            objects: 200,
            ..CorpusOptions::default()
        };
        let (a, b) = (Corpus::generate(&options), Corpus::generate(&options));
        assert_eq!(a.files.len(), b.files.len());
        assert!(
            a.files
                .iter()
                .zip(&b.files)
                .all(|(x, y)| x.before == y.before)
        );
        assert_eq!(a.objects, 200);
        let per_object = a.before_bytes() / a.objects;
        assert!(
            (3_500..7_000).contains(&per_object),
            "{per_object} bytes an object"
        );
        assert!(a.files.iter().any(|f| f.before != f.after));
    }

    #[test]
    fn reviews_have_the_asked_size() {
        let small = admission_review(8_000, ReviewChange::LimitsRemoved);
        assert!((16_000..24_000).contains(&small.len()), "{}", small.len());
        let large = admission_review(250_000, ReviewChange::ImageBump);
        assert!((500_000..700_000).contains(&large.len()), "{}", large.len());
    }
}
