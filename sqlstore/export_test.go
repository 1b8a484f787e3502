package sqlstore

// SetSnapshotHook sets a function FileListing runs between its reads.
func SetSnapshotHook(db *DB, fn func()) { db.snapshotHook = fn }
