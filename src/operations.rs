//! S3 operations an origin may not implement, and which it then runs as another.
//!
//! An S3 operation on a bucket's or object's configuration is named by a sub-resource in the
//! query (`DELETE /bucket?metrics`). An origin whose router does not know the sub-resource
//! ignores it and runs the operation the rest of the request names: Ceph RGW 16.2 ran a
//! DeleteBucketMetricsConfiguration as DeleteBucket (the bucket was gone, if empty) and a
//! GetBucketMetricsConfiguration as ListObjects; Ceph and Garage a GetObjectAttributes as
//! GetObject (the object's data to the holder of a URL for its attributes); all three origins
//! here a RenameObject as PutObject (a presigned rename stored the holder's own body) and
//! Ceph and s3s-fs an UpdateObjectEncryption as PutObject (the object's data replaced by the
//! request's XML: a red team, RT72, 2026-12-05). The signature covers the sub-resource, so the
//! origin did what it was asked, as it would asked directly; but a signer authorised one
//! operation and the origin ran a stronger one. The filter answers those the origin does not
//! implement with S3's 501 NotImplemented (`unsupported_operations`). Plain Rust.

/// One operation: its S3 name and how a request names it.
#[derive(Debug)]
pub struct Operation {
    pub name: &'static str,
    method: &'static [u8],
    level: Level,
    sub_resource: &'static [u8],
    id: Id,
    by_default: ByDefault,
}

/// What a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Bucket,
    Object,
}

/// Whether the request names a configuration (`id`): S3 tells a Get from a List so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Id {
    Named,
    None,
    Any,
}

/// Whether `unsupported_operations` lists the operation unless told otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ByDefault {
    Yes,
    /// Served by the origins that matter to it, run as another by some: list them for those
    /// (README names which).
    Opt,
}

const fn op(
    name: &'static str,
    method: &'static str,
    level: Level,
    sub_resource: &'static str,
    id: Id,
    by_default: ByDefault,
) -> Operation {
    Operation {
        name,
        method: method.as_bytes(),
        level,
        sub_resource: sub_resource.as_bytes(),
        id,
        by_default,
    }
}

use ByDefault::{Opt, Yes};
use Level::{Bucket, Object};

/// The operations the filter can refuse, as botocore's S3 model names and routes them. Of
/// those listed by default MinIO serves GetObjectAttributes alone, AWS S3 all; Transfer
/// Acceleration is an AWS endpoint of its own, of no use behind a proxy (Ceph 16.2 listed the
/// bucket for a GetBucketAccelerateConfiguration: RT73, 2026-12-05). MinIO's router, whose
/// bucket routes come before its own table of the operations it lacks, runs a
/// PutPublicAccessBlock, PutBucketWebsite, PutBucketLogging or PutBucketRequestPayment as
/// CreateBucket and a DeletePublicAccessBlock as DeleteBucket (RT97, 2026-12-05, running
/// MinIO's router): listed by default, though AWS S3 serves them all, Ceph public access
/// blocks, requester-pays and websites, and Garage websites. Bucket encryption (Ceph 16.2 ran
/// DeleteBucketEncryption as DeleteBucket) and the other website, logging and requester-pays
/// operations are served by MinIO.
#[rustfmt::skip]
pub const OPERATIONS: [Operation; 47] = [
    op("GetBucketAnalyticsConfiguration",                 "GET",    Bucket, "analytics",              Id::Named, Yes),
    op("ListBucketAnalyticsConfigurations",               "GET",    Bucket, "analytics",              Id::None,  Yes),
    op("PutBucketAnalyticsConfiguration",                 "PUT",    Bucket, "analytics",              Id::Any,   Yes),
    op("DeleteBucketAnalyticsConfiguration",              "DELETE", Bucket, "analytics",              Id::Any,   Yes),
    op("GetBucketInventoryConfiguration",                 "GET",    Bucket, "inventory",              Id::Named, Yes),
    op("ListBucketInventoryConfigurations",               "GET",    Bucket, "inventory",              Id::None,  Yes),
    op("PutBucketInventoryConfiguration",                 "PUT",    Bucket, "inventory",              Id::Any,   Yes),
    op("DeleteBucketInventoryConfiguration",              "DELETE", Bucket, "inventory",              Id::Any,   Yes),
    op("GetBucketMetricsConfiguration",                   "GET",    Bucket, "metrics",                Id::Named, Yes),
    op("ListBucketMetricsConfigurations",                 "GET",    Bucket, "metrics",                Id::None,  Yes),
    op("PutBucketMetricsConfiguration",                   "PUT",    Bucket, "metrics",                Id::Any,   Yes),
    op("DeleteBucketMetricsConfiguration",                "DELETE", Bucket, "metrics",                Id::Any,   Yes),
    op("GetBucketIntelligentTieringConfiguration",        "GET",    Bucket, "intelligent-tiering",    Id::Named, Yes),
    op("ListBucketIntelligentTieringConfigurations",      "GET",    Bucket, "intelligent-tiering",    Id::None,  Yes),
    op("PutBucketIntelligentTieringConfiguration",        "PUT",    Bucket, "intelligent-tiering",    Id::Any,   Yes),
    op("DeleteBucketIntelligentTieringConfiguration",     "DELETE", Bucket, "intelligent-tiering",    Id::Any,   Yes),
    op("GetBucketOwnershipControls",                      "GET",    Bucket, "ownershipControls",      Id::Any,   Yes),
    op("PutBucketOwnershipControls",                      "PUT",    Bucket, "ownershipControls",      Id::Any,   Yes),
    op("DeleteBucketOwnershipControls",                   "DELETE", Bucket, "ownershipControls",      Id::Any,   Yes),
    op("CreateBucketMetadataTableConfiguration",          "POST",   Bucket, "metadataTable",          Id::Any,   Yes),
    op("GetBucketMetadataTableConfiguration",             "GET",    Bucket, "metadataTable",          Id::Any,   Yes),
    op("DeleteBucketMetadataTableConfiguration",          "DELETE", Bucket, "metadataTable",          Id::Any,   Yes),
    op("CreateBucketMetadataConfiguration",               "POST",   Bucket, "metadataConfiguration",  Id::Any,   Yes),
    op("GetBucketMetadataConfiguration",                  "GET",    Bucket, "metadataConfiguration",  Id::Any,   Yes),
    op("DeleteBucketMetadataConfiguration",               "DELETE", Bucket, "metadataConfiguration",  Id::Any,   Yes),
    op("UpdateBucketMetadataInventoryTableConfiguration", "PUT",    Bucket, "metadataInventoryTable", Id::Any,   Yes),
    op("UpdateBucketMetadataJournalTableConfiguration",   "PUT",    Bucket, "metadataJournalTable",   Id::Any,   Yes),
    op("GetBucketAbac",                                   "GET",    Bucket, "abac",                   Id::Any,   Yes),
    op("PutBucketAbac",                                   "PUT",    Bucket, "abac",                   Id::Any,   Yes),
    op("GetBucketAccelerateConfiguration",                "GET",    Bucket, "accelerate",             Id::Any,   Yes),
    op("PutBucketAccelerateConfiguration",                "PUT",    Bucket, "accelerate",             Id::Any,   Yes),
    op("GetObjectAttributes",                             "GET",    Object, "attributes",             Id::Any,   Yes),
    op("RenameObject",                                    "PUT",    Object, "renameObject",           Id::Any,   Yes),
    op("UpdateObjectEncryption",                          "PUT",    Object, "encryption",             Id::Any,   Yes),
    op("GetPublicAccessBlock",                            "GET",    Bucket, "publicAccessBlock",      Id::Any,   Yes),
    op("PutPublicAccessBlock",                            "PUT",    Bucket, "publicAccessBlock",      Id::Any,   Yes),
    op("DeletePublicAccessBlock",                         "DELETE", Bucket, "publicAccessBlock",      Id::Any,   Yes),
    op("PutBucketWebsite",                                "PUT",    Bucket, "website",                Id::Any,   Yes),
    op("PutBucketLogging",                                "PUT",    Bucket, "logging",                Id::Any,   Yes),
    op("PutBucketRequestPayment",                         "PUT",    Bucket, "requestPayment",         Id::Any,   Yes),
    op("GetBucketRequestPayment",                         "GET",    Bucket, "requestPayment",         Id::Any,   Opt),
    op("GetBucketWebsite",                                "GET",    Bucket, "website",                Id::Any,   Opt),
    op("DeleteBucketWebsite",                             "DELETE", Bucket, "website",                Id::Any,   Opt),
    op("GetBucketLogging",                                "GET",    Bucket, "logging",                Id::Any,   Opt),
    op("GetBucketEncryption",                             "GET",    Bucket, "encryption",             Id::Any,   Opt),
    op("PutBucketEncryption",                             "PUT",    Bucket, "encryption",             Id::Any,   Opt),
    op("DeleteBucketEncryption",                          "DELETE", Bucket, "encryption",             Id::Any,   Opt),
];

const _: () = assert!(
    OPERATIONS.len() <= 64,
    "an OperationSet holds a bit per operation in a u64"
);

/// A bit for each length of the sub-resource names, and one for each first byte: a request's
/// other parameters (`X-Amz-Date`, `x-id`, `response-*`, …) are told apart from all of them by
/// one or the other.
const LENGTHS: u64 = {
    let mut lengths = 0u64;
    let mut i = 0;
    while i < OPERATIONS.len() {
        lengths |= 1 << OPERATIONS[i].sub_resource.len();
        i += 1;
    }
    lengths
};
const FIRST_BYTES: u128 = {
    let mut firsts = 0u128;
    let mut i = 0;
    while i < OPERATIONS.len() {
        firsts |= 1 << OPERATIONS[i].sub_resource[0];
        i += 1;
    }
    firsts
};

/// A set of `OPERATIONS`, a bit each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationSet {
    members: u64,
}

impl Default for OperationSet {
    fn default() -> Self {
        (0..OPERATIONS.len())
            .filter(|&i| OPERATIONS[i].by_default == Yes)
            .fold(Self::empty(), Self::with)
    }
}

impl OperationSet {
    pub const fn empty() -> Self {
        OperationSet { members: 0 }
    }

    fn with(self, index: usize) -> Self {
        OperationSet {
            members: self.members | 1u64 << index,
        }
    }

    fn holds(&self, index: usize) -> bool {
        self.members & 1u64 << index != 0
    }

    /// The set of the operations named, or the place of the first name that is no
    /// operation's, or repeats one.
    pub fn of_names<'n>(
        names: impl IntoIterator<Item = (usize, &'n str)>,
    ) -> Result<Self, (usize, &'static str)> {
        let mut set = Self::empty();
        for (place, name) in names {
            let Some(index) = OPERATIONS.iter().position(|op| op.name == name) else {
                return Err((place, "is not an S3 operation this filter can refuse"));
            };
            if set.holds(index) {
                return Err((place, "repeats an earlier name"));
            }
            set = set.with(index);
        }
        Ok(set)
    }

    pub fn is_empty(&self) -> bool {
        self.members == 0
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        OPERATIONS
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.holds(i))
            .map(|(_, op)| op.name)
    }

    /// The member a request names by the (decoded) parameter `name`, if any. A request for
    /// an object, or for a bucket, whose method and sub-resource match a member is refused
    /// whatever its `id` (an origin that splits the query at `;` may read one the filter
    /// does not): `with_id`, asked only then, picks the name to report.
    pub fn named_by(
        &self,
        method: &[u8],
        on_object: bool,
        name: &[u8],
        with_id: impl Fn() -> bool,
    ) -> Option<&'static str> {
        let first = *name.first()?;
        if self.members == 0
            || name.len() >= 64
            || LENGTHS & 1u64 << name.len() == 0
            || first >= 128
            || FIRST_BYTES & 1u128 << first == 0
        {
            return None;
        }
        let level = if on_object { Object } else { Bucket };
        let mut matching = OPERATIONS.iter().enumerate().filter(|&(i, op)| {
            self.holds(i) && op.sub_resource == name && op.method == method && op.level == level
        });
        let (_, first_match) = matching.next()?;
        let named = if with_id() { Id::Named } else { Id::None };
        Some(
            std::iter::once(first_match)
                .chain(matching.map(|(_, op)| op))
                .find(|op| op.id == named || op.id == Id::Any)
                .unwrap_or(first_match)
                .name,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_all_but_what_minio_serves() {
        let default: Vec<_> = OperationSet::default().names().collect();
        assert_eq!(default.len(), 40);
        assert!(default
            .iter()
            .all(|name| !name.ends_with("BucketEncryption")));
        for served in [
            "GetBucketWebsite",
            "DeleteBucketWebsite",
            "GetBucketLogging",
            "GetBucketRequestPayment",
        ] {
            assert!(!default.contains(&served), "{served}");
        }
        // MinIO runs these as CreateBucket and DeleteBucket (RT97).
        for misrouted in [
            "UpdateObjectEncryption",
            "PutPublicAccessBlock",
            "DeletePublicAccessBlock",
            "PutBucketWebsite",
            "PutBucketLogging",
            "PutBucketRequestPayment",
        ] {
            assert!(default.contains(&misrouted), "{misrouted}");
        }
    }

    #[test]
    fn a_request_names_an_operation_by_method_level_and_sub_resource() {
        let set = OperationSet::default();
        for (method, on_object, name, id, expected) in [
            (
                "DELETE",
                false,
                "metrics",
                false,
                Some("DeleteBucketMetricsConfiguration"),
            ),
            (
                "GET",
                false,
                "metrics",
                true,
                Some("GetBucketMetricsConfiguration"),
            ),
            (
                "GET",
                false,
                "metrics",
                false,
                Some("ListBucketMetricsConfigurations"),
            ),
            (
                "GET",
                true,
                "attributes",
                false,
                Some("GetObjectAttributes"),
            ),
            (
                "PUT",
                true,
                "encryption",
                false,
                Some("UpdateObjectEncryption"),
            ),
            // Sub-resources are compared as S3 and the origins compare them: exactly.
            ("DELETE", false, "Metrics", false, None),
            ("GET", true, "metrics", false, None),
            ("PUT", false, "encryption", false, None),
            ("GET", false, "X-Amz-Date", false, None),
        ] {
            let found = set.named_by(method.as_bytes(), on_object, name.as_bytes(), || id);
            assert_eq!(found, expected, "{method} {name}");
        }
    }

    #[test]
    fn names_are_checked() {
        let set =
            OperationSet::of_names([(0, "PutBucketEncryption"), (1, "RenameObject")]).unwrap();
        assert_eq!(
            set.names().collect::<Vec<_>>(),
            ["RenameObject", "PutBucketEncryption"]
        );
        assert_eq!(
            set.named_by(b"PUT", false, b"encryption", || false),
            Some("PutBucketEncryption")
        );
        assert_eq!(
            OperationSet::of_names([(0, "RenameObject"), (1, "GetObject")]),
            Err((1, "is not an S3 operation this filter can refuse"))
        );
        assert_eq!(
            OperationSet::of_names([(0, "RenameObject"), (1, "RenameObject")]),
            Err((1, "repeats an earlier name"))
        );
        assert!(OperationSet::of_names([]).unwrap().is_empty());
    }

    #[test]
    fn a_configuration_s_operations_are_refused_whatever_its_id() {
        // Listed alone, a Get stands for its List too: an origin splitting at `;` may read an
        // `id` the filter does not (a review, 2026-12-05).
        let get = OperationSet::of_names([(0, "GetBucketMetricsConfiguration")]).unwrap();
        for id in [true, false] {
            assert_eq!(
                get.named_by(b"GET", false, b"metrics", || id),
                Some("GetBucketMetricsConfiguration")
            );
        }
    }

    #[test]
    fn any_name_is_read_without_panicking() {
        let set = OperationSet::default();
        let long = [b'm'; 200];
        for name in [
            &b""[..],
            &long[..63],
            &long[..64],
            &long[..],
            b"\xffetrics",
            b"\x80",
        ] {
            assert_eq!(set.named_by(b"GET", false, name, || false), None);
        }
    }

    #[test]
    fn every_operation_is_named_once() {
        for (i, op) in OPERATIONS.iter().enumerate() {
            assert!(OPERATIONS[..i]
                .iter()
                .all(|earlier| earlier.name != op.name));
            assert!(op.sub_resource.len() < 64);
        }
    }
}
