"""pyuploadcare's Uploadcare client against Satchel: every call goes through
the client's own code, with only its base URLs pointing at Satchel."""

import datetime
import os
import time
import uuid

import httpx
import pytest

from conftest import (
    PUB_KEY,
    SATCHEL_URL,
    make_client,
    named,
    png_bytes,
)
from pyuploadcare import File, FileGroup
from pyuploadcare.api.addon_entities import (
    AddonClamAVExecutionParams,
    AddonLabels,
)
from pyuploadcare.exceptions import (
    DuplicateFileError,
    InvalidRequestError,
    UploadcareException,
)
from pyuploadcare.secure_url import (
    AkamaiSecureUrlBuilderWithAclToken,
    AkamaiSecureUrlBuilderWithUrlToken,
)
from pyuploadcare.transformations.document import (
    DocumentFormat,
    DocumentTransformation,
)
from pyuploadcare.transformations.image import ImageTransformation
from pyuploadcare.transformations.video import (
    VideoFormat,
    VideoTransformation,
)


def cdn_get(url):
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200, (url, response.status_code)
    return response


# --- uploads -----------------------------------------------------------------


@pytest.mark.parametrize("signed", [True, False])
def test_direct_upload(uc, signed):
    uc = make_client(signed_uploads=signed)
    data = png_bytes()
    f = uc.upload(named(data, "dot.png"), store=True)
    assert isinstance(f, File)
    assert f.is_ready
    assert f.is_stored
    assert not f.is_removed
    assert f.is_image
    assert f.size == len(data)
    assert f.mime_type == "image/png"
    assert f.filename == "dot.png"
    assert f.cdn_url == f"{SATCHEL_URL}{f.uuid}/"
    image = f.info["content_info"]["image"]
    assert (image["width"], image["height"]) == (8, 6)
    cdn_get(f.cdn_url).content == data


def test_upload_not_stored_then_store(uc, png):
    f = uc.upload(png, store=False)
    assert not f.is_stored
    f.store()
    assert f.is_stored
    f.update_info()
    assert f.datetime_stored is not None


def test_upload_with_metadata(uc, png):
    f = uc.upload(png, store=True, metadata={"kind": "dot", "n": "1"})
    assert f.info["metadata"] == {"kind": "dot", "n": "1"}


def test_upload_progress_callback(uc, png):
    seen = []
    uc.upload(png, callback=seen.append)
    assert seen and seen[-1].done == seen[-1].total


def test_upload_files(uc):
    files = uc.upload_files(
        [named(b"one\n", "one.txt"), named(b"two\n", "two.txt")], store=True
    )
    assert [f.filename for f in files] == ["one.txt", "two.txt"]
    assert [cdn_get(f.cdn_url).content for f in files] == [b"one\n", b"two\n"]


def test_multipart_upload(uc):
    size = 11 * 1024 * 1024 + 123
    data = os.urandom(1024) * (size // 1024) + b"x" * (size % 1024)
    progress = []
    f = uc.multipart_upload(
        named(data, "big.bin"),
        store=True,
        callback=progress.append,
        metadata={"source": "multipart"},
    )
    # The complete answer is the Upload API's file info, which has no
    # datetime_stored: is_stored needs the REST info.
    assert f.info["is_stored"] is True
    f.update_info()
    assert f.size == size
    assert f.is_stored
    assert f.filename == "big.bin"
    assert f.info["metadata"] == {"source": "multipart"}
    assert progress[-1].done == size
    cdn_get(f.cdn_url).content == data


def test_upload_picks_multipart_for_big_files(uc):
    data = os.urandom(10 * 1024 * 1024 + 5)
    f = uc.upload(named(data, "two.bin"), store=True)
    assert f.size == len(data)
    cdn_get(f.cdn_url).content == data


def test_upload_from_url(uc, png):
    source = uc.upload(png, store=True)
    file_from_url = uc.upload_from_url(
        source.cdn_url, store=False, filename="copy.png"
    )
    assert file_from_url.token
    f = file_from_url.wait(timeout=30, interval=0.2)
    assert isinstance(f, File)
    assert f.filename == "copy.png"
    assert not f.is_stored
    assert f.size == source.size
    assert file_from_url.info["status"] == "success"


def test_upload_from_url_sync_and_duplicates(uc, png):
    source = uc.upload(png, store=True)
    first = uc.upload_from_url_sync(
        source.cdn_url, store=True, metadata={"via": "url"}, until_ready=True
    )
    assert first.is_ready
    assert first.info["metadata"] == {"via": "url"}
    again = uc.upload_from_url_sync(
        source.cdn_url, check_duplicates=True, save_duplicates=True
    )
    assert again.size == source.size


def test_upload_from_url_duplicate(uc):
    source = uc.upload(named(png_bytes(rgb=(9, 9, 9)), "d.png"), store=True)
    first = uc.upload_from_url_sync(source.cdn_url, save_duplicates=True)
    with pytest.raises(DuplicateFileError) as duplicate:
        uc.upload_from_url(source.cdn_url, check_duplicates=True)
    assert duplicate.value.file_id == first.uuid
    again = uc.upload_from_url_sync(source.cdn_url, check_duplicates=True)
    assert again.uuid == first.uuid


def test_upload_accepts_a_url(uc, png):
    source = uc.upload(png, store=True)
    f = uc.upload(source.cdn_url, store=True)
    assert f.uuid != source.uuid
    assert f.size == source.size


# --- files -------------------------------------------------------------------


def test_file_from_cdn_url_with_effects(uc, png):
    f = uc.upload(png, store=True)
    by_url = uc.file(f"{SATCHEL_URL}{f.uuid}/-/resize/4x/")
    assert by_url.uuid == f.uuid
    assert by_url.default_effects == "resize/4x/"
    resized = cdn_get(by_url.cdn_url)
    assert resized.headers["content-type"].startswith("image/")
    path = f.cdn_path(ImageTransformation().resize(width=4).grayscale())
    cdn_get(f"{SATCHEL_URL}{path}")


def test_store_and_delete_single(uc, png):
    f = uc.upload(png, store=False)
    f.store()
    assert f.is_stored
    f.delete()
    assert f.is_removed
    f.update_info()
    assert f.is_removed


def test_batch_store_and_delete(uc):
    files = [uc.upload(named(b"b%d" % i, f"b{i}.txt"), store=False) for i in range(3)]
    uc.store_files(files + [files[0].cdn_url])
    for f in files:
        f.update_info()
        assert f.is_stored
    uc.delete_files([f.uuid for f in files])
    for f in files:
        f.update_info()
        assert f.is_removed


def test_batch_store_reports_problems(uc, png):
    f = uc.upload(png, store=False)
    missing = str(uuid.uuid4())
    response = uc.files_api.batch_store([f.uuid, missing, "not-a-uuid"])
    assert response.status == "ok"
    assert [str(r.uuid) for r in response.result] == [f.uuid]
    assert set(response.problems) == {missing, "not-a-uuid"}


def test_file_list_paging(uc):
    tag = uuid.uuid4().hex[:8]
    before = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(0.01)
    uploaded = [
        uc.upload(named(tag.encode() + b"%d" % i, f"{tag}-{i}.txt"), store=True)
        for i in range(5)
    ]
    listed = list(uc.list_files(starting_point=before, request_limit=2))
    assert [f.uuid for f in listed] == [f.uuid for f in uploaded]
    assert [f.filename for f in listed] == [f.filename for f in uploaded]
    # Each File comes with its info from the list: no request per file.
    assert all(f._info_cache for f in listed)
    newest_first = list(
        uc.list_files(ordering="-datetime_uploaded", limit=3, request_limit=2)
    )
    assert [f.uuid for f in newest_first] == [f.uuid for f in reversed(uploaded)][:3]
    assert uc.list_files(stored=True).count() >= 5
    assert uc.files_api.count() >= 5


def test_file_list_filters(uc, png):
    kept = uc.upload(png, store=True)
    removed = uc.upload(named(png_bytes(rgb=(1, 2, 3)), "gone.png"), store=True)
    removed.delete()
    temporary = uc.upload(named(b"tmp", "tmp.txt"), store=False)
    stored = {f.uuid for f in uc.list_files(stored=True)}
    assert kept.uuid in stored and temporary.uuid not in stored
    gone = {f.uuid for f in uc.list_files(removed=True)}
    assert removed.uuid in gone and kept.uuid not in gone
    unstored = {f.uuid for f in uc.list_files(stored=False)}
    assert temporary.uuid in unstored and kept.uuid not in unstored


def test_local_copy(uc, png):
    f = uc.upload(png, store=True)
    copy = f.create_local_copy(effects="resize/4x/", store=True)
    assert copy.uuid != f.uuid
    copy.update_info()
    assert copy.is_stored
    assert copy.info["content_info"]["image"]["width"] == 4


def test_remote_copy_without_storage_is_an_error(uc, png):
    f = uc.upload(png, store=True)
    with pytest.raises(UploadcareException):
        f.create_remote_copy(target="nowhere")


@pytest.mark.skipif(
    not os.environ.get("PYCLIENT_SECURE_PUB_KEY"),
    reason="scripts/pyclient.sh sets up the storage and secure project",
)
def test_remote_copy(uc, png):
    f = uc.upload(png, store=True)
    where = f.create_remote_copy(
        target="remote", make_public=True, pattern="${uuid}/${filename}${ext}"
    )
    assert where.endswith(f"/{f.uuid}/dot.png"), where
    assert where.startswith("file://")
    with open(where[len("file://"):], "rb") as copy:
        assert copy.read() == png_bytes()


def secure_client(builder_class, secret=None):
    cdn_host = SATCHEL_URL.split("://", 1)[1].rstrip("/")
    builder = builder_class(
        cdn_host, secret or os.environ["PYCLIENT_DELIVERY_SECRET"]
    )
    return make_client(
        public_key=os.environ["PYCLIENT_SECURE_PUB_KEY"],
        secret_key=os.environ["PYCLIENT_SECURE_SECRET_KEY"],
        secure_url_builder=builder,
    )


def local(url):
    # The builders make https URLs; the test server speaks plain HTTP.
    return url.replace("https://", "http://", 1)


@pytest.mark.skipif(
    not os.environ.get("PYCLIENT_SECURE_PUB_KEY"),
    reason="scripts/pyclient.sh sets up the storage and secure project",
)
def test_secure_delivery():
    acl = secure_client(AkamaiSecureUrlBuilderWithAclToken)
    f = acl.upload(named(png_bytes(), "s.png"), store=True)
    group = acl.create_file_group([f])
    assert httpx.get(f.cdn_url).status_code == 403
    for handle in (f.uuid, f"{f.uuid}/-/resize/4x/", f.cdn_url,
                   f"{group.id}/nth/0/", f"{group.id}/"):
        cdn_get(local(acl.generate_secure_url(handle)))
    token = acl.generate_secure_url_token(group.id, wildcard=True)
    cdn_get(f"{SATCHEL_URL}{group.id}/nth/0/-/resize/4x/?token={token}")
    token = acl.generate_secure_url_token(f.uuid)
    other = f"{SATCHEL_URL}{f.uuid}/-/resize/4x/?token={token}"
    assert httpx.get(other).status_code == 403

    url_token = secure_client(AkamaiSecureUrlBuilderWithUrlToken)
    for handle in (f.uuid, f"{f.uuid}/-/resize/4x/", f"{group.id}/nth/0/"):
        cdn_get(local(url_token.generate_secure_url(handle)))

    wrong = secure_client(AkamaiSecureUrlBuilderWithAclToken, "ab" * 32)
    assert httpx.get(local(wrong.generate_secure_url(f.uuid))).status_code == 403


def test_file_not_found(uc):
    with pytest.raises(InvalidRequestError):
        uc.file(str(uuid.uuid4())).info


# --- metadata ----------------------------------------------------------------


def test_metadata_api(uc, png):
    f = uc.upload(png, store=True)
    api = uc.metadata_api
    assert api.update_or_create_key(f.uuid, "color", "red") == "red"
    assert api.update_or_create_key(f.uuid, "color", "blue") == "blue"
    api.update_or_create_key(f.uuid, "size_1", "small")
    assert api.get_key(f.uuid, "color") == "blue"
    assert api.get_all_metadata(f.uuid) == {"color": "blue", "size_1": "small"}
    api.delete_key(f.uuid, "color")
    assert api.get_all_metadata(f.uuid) == {"size_1": "small"}
    f.update_info()
    assert f.info["metadata"] == {"size_1": "small"}
    with pytest.raises(InvalidRequestError):
        api.get_key(f.uuid, "color")


# --- groups ------------------------------------------------------------------


def test_groups(uc):
    files = [
        uc.upload(named(b"g%d\n" % i, f"g{i}.txt"), store=False) for i in range(3)
    ]
    group = uc.create_file_group(files)
    assert isinstance(group, FileGroup)
    assert group.id.endswith("~3")
    assert len(group) == 3
    assert [f.uuid for f in group] == [f.uuid for f in files]
    assert group.cdn_url == f"{SATCHEL_URL}{group.id}/"
    assert group.file_cdn_urls == [
        f"{SATCHEL_URL}{group.id}/nth/{i}/" for i in range(3)
    ]
    cdn_get(group.file_cdn_urls[1]).content == b"g1\n"
    assert group.datetime_created is not None

    again = uc.file_group(group.cdn_url)
    again.update_info()
    assert again.id == group.id
    assert [f.uuid for f in again] == [f.uuid for f in files]
    assert isinstance(again[0], File)

    group.store()
    for f in files:
        f.update_info()
        assert f.is_stored

    listed = [g.id for g in uc.list_file_groups(request_limit=1)]
    assert group.id in listed
    assert uc.list_file_groups().count() >= 1

    group.delete(delete_files=True)
    assert group.is_deleted
    with pytest.raises(InvalidRequestError):
        uc.file_group(group.id).update_info()
    for f in files:
        f.update_info()
        assert f.is_removed


def test_group_with_effects(uc, png):
    f = uc.upload(png, store=True)
    group = uc.create_file_group([uc.file(f"{f.uuid}/-/resize/4x/")])
    member = group[0]
    assert member.uuid == f.uuid
    assert "resize/4x/" in member.cdn_url


# --- conversions -------------------------------------------------------------


def wait_for(check, timeout=120, interval=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out")


def test_document_conversion(uc):
    doc = uc.upload(named(b"page one\n\fpage two\n", "doc.txt"), store=True)
    transformation = DocumentTransformation().format(DocumentFormat.pdf)
    converted = doc.convert(transformation, store=True)
    assert isinstance(converted, File)
    response = uc.document_convert_api.convert(
        [transformation.path(doc.uuid)], store=False
    )
    token = response.result[0].token
    assert response.result[0].original_source.startswith(doc.uuid)

    def finished():
        status = uc.document_convert_api.status(token)
        assert status.status in ("pending", "processing", "finished"), status
        return status if status.status == "finished" else None

    status = wait_for(finished)
    assert str(status.result.uuid) == str(response.result[0].uuid)
    converted.update_info()
    assert converted.mime_type == "application/pdf"
    cdn_get(converted.cdn_url).content.startswith(b"%PDF")

    info = uc.document_convert_api.retrieve(doc.uuid)
    assert info.format.name == "txt"
    assert "pdf" in [f.name for f in info.format.conversion_formats]


def test_document_conversion_to_group(uc):
    doc = uc.upload(named(b"first\n\fsecond\n", "pages.txt"), store=True)
    transformation = DocumentTransformation().format(DocumentFormat.png)
    response = uc.document_convert_api.convert(
        [transformation.path(doc.uuid)], store=True, save_in_group=True
    )
    token = response.result[0].token

    def finished():
        status = uc.document_convert_api.status(token)
        assert status.status != "failed", status
        return status.status == "finished"

    wait_for(finished)
    group = doc.get_converted_document_group(DocumentFormat.png)
    assert isinstance(group, FileGroup)
    assert len(group) >= 1


def test_video_conversion(uc, video_path):
    with open(video_path, "rb") as handle:
        video = uc.upload(handle, store=True)
    video_info = video.info["content_info"]["video"]
    assert video_info["video"][0]["width"] == 160
    transformation = VideoTransformation().format(VideoFormat.webm).thumbs(2)
    converted = video.convert(transformation, store=True)
    assert converted.thumbnails_group_uuid.endswith("~2")
    response = uc.video_convert_api.convert(
        [transformation.path(video.uuid)], store=False
    )
    token = response.result[0].token

    def finished():
        status = uc.video_convert_api.status(token)
        assert status.status in ("pending", "processing", "finished"), status
        return status if status.status == "finished" else None

    status = wait_for(finished, timeout=300)
    assert status.result.thumbnails_group_uuid.endswith("~2")
    converted.update_info()
    assert converted.mime_type == "video/webm"
    thumbs = uc.file_group(converted.thumbnails_group_uuid)
    assert len(thumbs) == 2


# --- add-ons -----------------------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("SATCHEL_TEST_CLAMD_ADDR"), reason="no clamd"
)
def test_clamav_addon(uc, png):
    f = uc.upload(png, store=True)
    execution = uc.addons_api.execute(
        f.uuid,
        AddonLabels.CLAM_AV,
        AddonClamAVExecutionParams(purge_infected=False),
    )

    def done():
        status = uc.addons_api.status(execution.request_id, AddonLabels.CLAM_AV)
        assert status.status.value in ("in_progress", "done"), status
        return status.status.value == "done"

    wait_for(done)
    f.update_info(include_appdata=True)
    scan = f.info["appdata"]["uc_clamav_virus_scan"]
    assert scan["data"]["infected"] is False


def test_addon_not_configured(uc, png):
    f = uc.upload(png, store=True)
    with pytest.raises(UploadcareException):
        execution = uc.addons_api.execute(f.uuid, AddonLabels.REMOVE_BG)
        uc.addons_api.status(execution.request_id, AddonLabels.REMOVE_BG)
        assert False, "remove_bg ran without a key"


def test_addon_status_unknown_request(uc):
    status = uc.addons_api.status(str(uuid.uuid4()), AddonLabels.CLAM_AV)
    assert status.status.value == "unknown"


def test_file_info_with_appdata(uc, png):
    f = uc.upload(png, store=True)
    f.update_info(include_appdata=True)
    appdata = f.info.get("appdata") or {}
    assert all(value is None for value in appdata.values())


# --- webhooks and project ----------------------------------------------------


def test_webhooks(uc):
    hook = uc.create_webhook(
        "http://127.0.0.1:9/hook", event="file.stored", signing_secret="s3cret"
    )
    assert hook.id
    assert hook.event == "file.stored"
    assert hook.is_active
    assert hook.target_url == "http://127.0.0.1:9/hook"
    assert hook.id in [h.id for h in uc.list_webhooks()]
    updated = uc.update_webhook(
        hook, target_url="http://127.0.0.1:9/other", is_active=False
    )
    assert updated.id == hook.id
    assert updated.target_url == "http://127.0.0.1:9/other"
    assert updated.is_active is False
    updated = uc.update_webhook(hook.id, event="file.uploaded")
    assert updated.event == "file.uploaded"
    uc.delete_webhook(hook)
    assert hook.id not in [h.id for h in uc.list_webhooks()]


def test_webhook_events(uc):
    for event in ("file.uploaded", "file.stored", "file.deleted",
                  "file.info_updated", "file.infected"):
        hook = uc.create_webhook("http://127.0.0.1:9/e", event=event)
        assert hook.event == event
        uc.delete_webhook(hook.id)


def test_project_info(uc):
    info = uc.get_project_info()
    assert info.pub_key == PUB_KEY
    assert info.name
    assert isinstance(info.collaborators, list)


# --- keys and signatures -----------------------------------------------------


def test_wrong_secret_is_refused():
    uc = make_client(secret_key="wrong")
    with pytest.raises(UploadcareException):
        uc.get_project_info()
    with pytest.raises(UploadcareException):
        uc.upload(named(b"x", "x.txt"))


def test_upload_signature_is_accepted(uc):
    expire, signature = uc.generate_upload_signature()
    response = httpx.post(
        f"{SATCHEL_URL}base/",
        data={
            "UPLOADCARE_PUB_KEY": PUB_KEY,
            "signature": signature,
            "expire": str(expire),
        },
        files={"file": ("s.txt", b"signed")},
    )
    assert response.status_code == 200, response.text
