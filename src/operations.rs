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
    on_object: bool,
    sub_resource: &'static [u8],
    /// Whether the request names a configuration (`id`): S3 tells a Get from a List so.
    with_id: Option<bool>,
}

const fn op(
    name: &'static str,
    method: &'static str,
    on_object: bool,
    sub_resource: &'static str,
    with_id: Option<bool>,
) -> Operation {
    Operation {
        name,
        method: method.as_bytes(),
        on_object,
        sub_resource: sub_resource.as_bytes(),
        with_id,
    }
}

/// The operations the filter can refuse, as botocore's S3 model names and routes them.
pub const OPERATIONS: [Operation; 37] = [
    op(
        "GetBucketAnalyticsConfiguration",
        "GET",
        false,
        "analytics",
        Some(true),
    ),
    op(
        "ListBucketAnalyticsConfigurations",
        "GET",
        false,
        "analytics",
        Some(false),
    ),
    op(
        "PutBucketAnalyticsConfiguration",
        "PUT",
        false,
        "analytics",
        None,
    ),
    op(
        "DeleteBucketAnalyticsConfiguration",
        "DELETE",
        false,
        "analytics",
        None,
    ),
    op(
        "GetBucketInventoryConfiguration",
        "GET",
        false,
        "inventory",
        Some(true),
    ),
    op(
        "ListBucketInventoryConfigurations",
        "GET",
        false,
        "inventory",
        Some(false),
    ),
    op(
        "PutBucketInventoryConfiguration",
        "PUT",
        false,
        "inventory",
        None,
    ),
    op(
        "DeleteBucketInventoryConfiguration",
        "DELETE",
        false,
        "inventory",
        None,
    ),
    op(
        "GetBucketMetricsConfiguration",
        "GET",
        false,
        "metrics",
        Some(true),
    ),
    op(
        "ListBucketMetricsConfigurations",
        "GET",
        false,
        "metrics",
        Some(false),
    ),
    op(
        "PutBucketMetricsConfiguration",
        "PUT",
        false,
        "metrics",
        None,
    ),
    op(
        "DeleteBucketMetricsConfiguration",
        "DELETE",
        false,
        "metrics",
        None,
    ),
    op(
        "GetBucketIntelligentTieringConfiguration",
        "GET",
        false,
        "intelligent-tiering",
        Some(true),
    ),
    op(
        "ListBucketIntelligentTieringConfigurations",
        "GET",
        false,
        "intelligent-tiering",
        Some(false),
    ),
    op(
        "PutBucketIntelligentTieringConfiguration",
        "PUT",
        false,
        "intelligent-tiering",
        None,
    ),
    op(
        "DeleteBucketIntelligentTieringConfiguration",
        "DELETE",
        false,
        "intelligent-tiering",
        None,
    ),
    op(
        "GetBucketOwnershipControls",
        "GET",
        false,
        "ownershipControls",
        None,
    ),
    op(
        "PutBucketOwnershipControls",
        "PUT",
        false,
        "ownershipControls",
        None,
    ),
    op(
        "DeleteBucketOwnershipControls",
        "DELETE",
        false,
        "ownershipControls",
        None,
    ),
    op(
        "CreateBucketMetadataTableConfiguration",
        "POST",
        false,
        "metadataTable",
        None,
    ),
    op(
        "GetBucketMetadataTableConfiguration",
        "GET",
        false,
        "metadataTable",
        None,
    ),
    op(
        "DeleteBucketMetadataTableConfiguration",
        "DELETE",
        false,
        "metadataTable",
        None,
    ),
    op(
        "CreateBucketMetadataConfiguration",
        "POST",
        false,
        "metadataConfiguration",
        None,
    ),
    op(
        "GetBucketMetadataConfiguration",
        "GET",
        false,
        "metadataConfiguration",
        None,
    ),
    op(
        "DeleteBucketMetadataConfiguration",
        "DELETE",
        false,
        "metadataConfiguration",
        None,
    ),
    op(
        "UpdateBucketMetadataInventoryTableConfiguration",
        "PUT",
        false,
        "metadataInventoryTable",
        None,
    ),
    op(
        "UpdateBucketMetadataJournalTableConfiguration",
        "PUT",
        false,
        "metadataJournalTable",
        None,
    ),
    op("GetBucketAbac", "GET", false, "abac", None),
    op("PutBucketAbac", "PUT", false, "abac", None),
    op(
        "GetBucketAccelerateConfiguration",
        "GET",
        false,
        "accelerate",
        None,
    ),
    op(
        "PutBucketAccelerateConfiguration",
        "PUT",
        false,
        "accelerate",
        None,
    ),
    op("GetObjectAttributes", "GET", true, "attributes", None),
    op("RenameObject", "PUT", true, "renameObject", None),
    op("UpdateObjectEncryption", "PUT", true, "encryption", None),
    op("GetBucketEncryption", "GET", false, "encryption", None),
    op("PutBucketEncryption", "PUT", false, "encryption", None),
    op(
        "DeleteBucketEncryption",
        "DELETE",
        false,
        "encryption",
        None,
    ),
];

/// Refused by default: every operation above but bucket encryption, which MinIO, Ceph from
/// Quincy on and AWS S3 serve (Ceph 16.2 ran DeleteBucketEncryption as DeleteBucket: add the
/// three for it). Of the rest MinIO serves GetObjectAttributes alone, and AWS S3 all; Transfer
/// Acceleration is an AWS endpoint of its own, of no use behind a proxy (Ceph 16.2 listed the
/// bucket for a GetBucketAccelerateConfiguration: RT73, 2026-12-05).
const DEFAULT_UNSUPPORTED: usize = OPERATIONS.len() - 3;

/// A bit for each length of the sub-resource names: most parameters are told apart from all
/// of them by their length alone.
const LENGTHS: u64 = {
    let mut lengths = 0u64;
    let mut i = 0;
    while i < OPERATIONS.len() {
        lengths |= 1 << OPERATIONS[i].sub_resource.len();
        i += 1;
    }
    lengths
};

/// A set of `OPERATIONS`, a bit each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationSet {
    members: u64,
}

impl Default for OperationSet {
    fn default() -> Self {
        (0..DEFAULT_UNSUPPORTED).fold(Self::empty(), Self::with)
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
            if set.members & 1u64 << index != 0 {
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
            .filter(|(i, _)| self.members & 1u64 << i != 0)
            .map(|(_, op)| op.name)
    }

    /// The member a request names by the (decoded) parameter `name`, if any; `with_id` says
    /// whether the request names a configuration, asked only of a name that matches.
    pub fn named_by(
        &self,
        method: &[u8],
        on_object: bool,
        name: &[u8],
        with_id: impl Fn() -> bool,
    ) -> Option<&'static str> {
        if self.members == 0 || name.len() >= 64 || LENGTHS & 1u64 << name.len() == 0 {
            return None;
        }
        OPERATIONS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.members & 1u64 << i != 0)
            .map(|(_, op)| op)
            .find(|op| {
                op.sub_resource == name
                    && op.method == method
                    && op.on_object == on_object
                    && op.with_id.is_none_or(|id| id == with_id())
            })
            .map(|op| op.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_all_but_bucket_encryption() {
        let default: Vec<_> = OperationSet::default().names().collect();
        assert_eq!(default.len(), 34);
        assert!(default
            .iter()
            .all(|name| !name.ends_with("BucketEncryption")));
        assert!(default.contains(&"UpdateObjectEncryption"));
    }

    #[test]
    fn a_request_names_an_operation_by_method_level_and_sub_resource() {
        let set = OperationSet::default();
        let named = |method: &str, on_object, name: &str, id| {
            set.named_by(method.as_bytes(), on_object, name.as_bytes(), || id)
        };
        assert_eq!(
            named("DELETE", false, "metrics", false),
            Some("DeleteBucketMetricsConfiguration")
        );
        assert_eq!(
            named("GET", false, "metrics", true),
            Some("GetBucketMetricsConfiguration")
        );
        assert_eq!(
            named("GET", false, "metrics", false),
            Some("ListBucketMetricsConfigurations")
        );
        assert_eq!(
            named("GET", true, "attributes", false),
            Some("GetObjectAttributes")
        );
        assert_eq!(
            named("PUT", true, "encryption", false),
            Some("UpdateObjectEncryption")
        );
        // Sub-resources are compared as S3 and the origins compare them: exactly.
        assert_eq!(named("DELETE", false, "Metrics", false), None);
        assert_eq!(named("GET", true, "metrics", false), None);
        assert_eq!(named("PUT", false, "encryption", false), None);
        assert_eq!(named("GET", false, "X-Amz-Date", false), None);
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
    fn every_operation_is_named_once() {
        for (i, op) in OPERATIONS.iter().enumerate() {
            assert!(OPERATIONS[..i]
                .iter()
                .all(|earlier| earlier.name != op.name));
            assert!(op.sub_resource.len() < 64);
        }
    }
}
