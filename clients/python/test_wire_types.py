"""JSON types of Satchel's answers, as strict as pyuploadcare 5.x/6.x reads
them. Those versions parse with pydantic 2, which, unlike the pydantic 1 that
pyuploadcare 4.x runs on here, refuses a number where a string is declared
(and a fractional number where an integer is). pydantic 2 is not packaged in
Debian 12, so this test records every JSON answer the 4.x client receives in
a few calls and checks each field's JSON type against the documented one."""

import json
import os
import time
import uuid

import pytest

from conftest import make_client, named, png_bytes
from pyuploadcare.api.addon_entities import (
    AddonClamAVExecutionParams,
    AddonLabels,
)
from pyuploadcare.transformations.document import (
    DocumentFormat,
    DocumentTransformation,
)
from pyuploadcare.transformations.video import (
    VideoFormat,
    VideoTransformation,
)

STR, INT, NUM, BOOL = "str", "int", "num", "bool"


def opt(kind):
    return ("optional", kind)


def list_of(kind):
    return ("list", kind)


def dict_of(kind):
    return ("dict", kind)


MIME = {"mime": STR, "type": STR, "subtype": STR}
IMAGE = {
    "color_mode": opt(STR),
    "orientation": opt(INT),
    "format": STR,
    "sequence": opt(BOOL),
    "height": INT,
    "width": INT,
    "geo_location": opt({"latitude": NUM, "longitude": NUM}),
    "datetime_original": opt(STR),
    "dpi": opt(list_of(INT)),
}
AUDIO = {
    "bitrate": opt(NUM),
    "codec": opt(STR),
    "sample_rate": opt(NUM),
    "profile": opt(STR),
    "channels": opt(INT),
}
VIDEO_STREAM = {
    "height": NUM,
    "width": NUM,
    "frame_rate": NUM,
    "bitrate": opt(NUM),
    "codec": opt(STR),
}
VIDEO = {
    "duration": opt(NUM),
    "format": STR,
    "bitrate": opt(NUM),
    "audio": list_of(AUDIO),
    "video": list_of(VIDEO_STREAM),
}
FILE = {
    "uuid": STR,
    "datetime_removed": opt(STR),
    "datetime_stored": opt(STR),
    "datetime_uploaded": opt(STR),
    "metadata": opt(dict_of(STR)),
    "is_image": opt(BOOL),
    "is_ready": opt(BOOL),
    "mime_type": opt(STR),
    "original_file_url": opt(STR),
    "original_filename": opt(STR),
    "size": opt(INT),
    "url": opt(STR),
    "variations": opt(dict_of(STR)),
    "source": opt(STR),
    "content_info": opt(
        {"mime": opt(MIME), "image": opt(IMAGE), "video": opt(VIDEO)}
    ),
    "appdata": opt(dict_of(opt({"version": STR, "datetime_created": STR,
                                "datetime_updated": STR}))),
}
GROUP = {
    "id": STR,
    "datetime_created": opt(STR),
    "files_count": opt(INT),
    "cdn_url": opt(STR),
    "url": opt(STR),
    "files": opt(list_of(opt(FILE))),
}
WEBHOOK = {
    "id": INT,
    "created": opt(STR),
    "updated": opt(STR),
    "event": opt(STR),
    "target_url": opt(STR),
    "project": opt(INT),
    "is_active": opt(BOOL),
    "signing_secret": opt(STR),
}


def page(item):
    return {"next": opt(STR), "previous": opt(STR), "total": INT,
            "per_page": INT, "results": list_of(item)}


CONVERT_STATUS = {"status": STR, "error": opt(STR),
                  "result": {"uuid": STR}}

# (method, path pattern) -> schema of the answer; "{id}" is one segment.
SCHEMAS = {
    ("GET", "/files/{id}/"): FILE,
    ("PUT", "/files/{id}/storage/"): FILE,
    ("DELETE", "/files/{id}/storage/"): FILE,
    ("GET", "/files/"): page(FILE),
    ("PUT", "/files/storage/"): {"status": STR, "problems": opt(dict_of(STR)),
                                 "result": opt(list_of(FILE))},
    ("DELETE", "/files/storage/"): {"status": STR,
                                    "problems": opt(dict_of(STR)),
                                    "result": opt(list_of(FILE))},
    ("POST", "/files/local_copy/"): {"type": STR, "result": FILE},
    ("GET", "/files/{id}/metadata/"): dict_of(STR),
    ("GET", "/files/{id}/metadata/{id}/"): STR,
    ("PUT", "/files/{id}/metadata/{id}/"): STR,
    ("GET", "/groups/"): page(GROUP),
    ("GET", "/groups/{id}/"): GROUP,
    ("POST", "/group//"): GROUP,
    ("GET", "/project/"): {"name": STR, "pub_key": STR,
                           "autostore_enabled": opt(BOOL),
                           "collaborators": opt(list_of(
                               {"email": opt(STR), "name": opt(STR)}))},
    ("POST", "/webhooks/"): WEBHOOK,
    ("PUT", "/webhooks/{id}/"): WEBHOOK,
    ("GET", "/webhooks/"): list_of(WEBHOOK),
    ("POST", "/convert/document/"): {
        "problems": opt(dict_of(STR)),
        "result": opt(list_of({"uuid": STR, "token": INT,
                               "original_source": STR}))},
    ("GET", "/convert/document/status/{id}/"): CONVERT_STATUS,
    ("GET", "/convert/document/{id}/"): {
        "error": opt(STR),
        "format": {"name": STR, "conversion_formats": list_of({"name": STR}),
                   "converted_groups": dict_of(STR)}},
    ("POST", "/convert/video/"): {
        "problems": opt(dict_of(STR)),
        "result": opt(list_of({"uuid": STR, "token": INT,
                               "original_source": STR,
                               "thumbnails_group_uuid": STR}))},
    ("GET", "/convert/video/status/{id}/"): {
        "status": STR, "error": opt(STR),
        "result": {"uuid": STR, "thumbnails_group_uuid": STR}},
    ("POST", "/addons/{id}/execute/"): {"request_id": STR},
    ("GET", "/addons/{id}/execute/status/"): {"status": STR,
                                              "result": opt(dict_of(None))},
    ("POST", "/multipart/start/"): {"uuid": STR, "parts": list_of(STR)},
    ("POST", "/from_url/"): {"token": STR, "type": STR},
}


def check(value, schema, where, errors):
    if schema is None:
        return
    if isinstance(schema, tuple):
        kind, inner = schema
        if kind == "optional":
            if value is not None:
                check(value, inner, where, errors)
        elif not isinstance(value, (list, dict)):
            errors.append(f"{where}: {kind} expected, got {value!r}")
        elif kind == "list":
            for i, item in enumerate(value):
                check(item, inner, f"{where}[{i}]", errors)
        else:
            for key, item in value.items():
                if not isinstance(key, str):
                    errors.append(f"{where}: key {key!r}")
                check(item, inner, f"{where}.{key}", errors)
    elif isinstance(schema, dict):
        if not isinstance(value, dict):
            errors.append(f"{where}: object expected, got {value!r}")
            return
        for key, inner in schema.items():
            if key in value:
                check(value[key], inner, f"{where}.{key}", errors)
            elif not isinstance(inner, tuple) or inner[0] != "optional":
                errors.append(f"{where}.{key}: missing")
    else:
        ok = {
            STR: isinstance(value, str),
            INT: isinstance(value, int) and not isinstance(value, bool),
            NUM: isinstance(value, (int, float)) and not isinstance(value, bool),
            BOOL: isinstance(value, bool),
        }[schema]
        if not ok:
            errors.append(f"{where}: {schema} expected, got {value!r}")


def route(method, path):
    segments = path.strip("/").split("/")
    for (m, pattern), schema in SCHEMAS.items():
        parts = pattern.strip("/").split("/")
        if m != method or len(parts) != len(segments):
            continue
        if pattern.endswith("//") != path.endswith("//"):
            continue
        if all(p == "{id}" or p == s for p, s in zip(parts, segments)):
            return pattern, schema
    return None, None


@pytest.fixture
def recorded():
    uc = make_client()
    answers = []

    def record(response):
        if "json" in response.headers.get("content-type", ""):
            response.read()
            answers.append((response.request.method,
                            response.request.url.path, response.json()))

    for client in (uc.rest_client, uc.upload_client):
        client.event_hooks["response"].append(record)
    return uc, answers


def wait(check_done, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check_done():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_answers_have_the_documented_json_types(recorded, video_path):
    uc, answers = recorded
    image = uc.upload(named(png_bytes(), "t.png"), store=True,
                      metadata={"k": "v"})
    image.update_info(include_appdata=True)
    with open(video_path, "rb") as handle:
        video = uc.upload(handle, store=True)
    video.update_info()
    assert video.info["content_info"]["video"]["audio"], "no audio stream"
    doc = uc.upload(named(b"words\n", "t.txt"), store=False)
    big = uc.multipart_upload(named(os.urandom(11 << 20), "b.bin"))
    uc.upload_from_url_sync(image.cdn_url, store=True)
    uc.metadata_api.update_or_create_key(image.uuid, "k2", "v2")
    uc.metadata_api.get_key(image.uuid, "k2")
    uc.metadata_api.get_all_metadata(image.uuid)
    image.create_local_copy(store=True)
    uc.files_api.batch_store([doc.uuid, str(uuid.uuid4())])
    list(uc.list_files(limit=3, request_limit=2))
    group = uc.create_file_group([image, doc])
    group.update_info()
    list(uc.list_file_groups(limit=2, request_limit=1))
    uc.get_project_info()
    hook = uc.create_webhook("http://127.0.0.1:9/t", event="file.uploaded")
    uc.update_webhook(hook, is_active=False)
    list(uc.list_webhooks())
    uc.delete_webhook(hook)

    token = uc.document_convert_api.convert(
        [DocumentTransformation().format(DocumentFormat.pdf).path(doc.uuid)]
    ).result[0].token
    wait(lambda: uc.document_convert_api.status(token).status == "finished")
    uc.document_convert_api.retrieve(doc.uuid)
    token = uc.video_convert_api.convert(
        [VideoTransformation().format(VideoFormat.mp4).thumbs(1)
         .path(video.uuid)]
    ).result[0].token
    wait(lambda: uc.video_convert_api.status(token).status == "finished",
         timeout=300)
    if os.environ.get("SATCHEL_TEST_CLAMD_ADDR"):
        request_id = uc.addons_api.execute(
            image.uuid, AddonLabels.CLAM_AV,
            AddonClamAVExecutionParams(purge_infected=False)).request_id
        wait(lambda: uc.addons_api.status(
            request_id, AddonLabels.CLAM_AV).status.value == "done")
        image.update_info(include_appdata=True)
    doc.store()
    uc.files_api.batch_delete([big.uuid])
    uc.files_api.delete(doc.uuid)

    errors, seen = [], set()
    for method, path, body in answers:
        pattern, schema = route(method, path)
        if schema is None:
            continue
        seen.add((method, pattern))
        check(body, schema, f"{method} {path}", errors)
    assert not errors, json.dumps(errors, indent=1)
    wanted = {key for key in SCHEMAS if key[0] != "POST" or
              key[1] != "/addons/{id}/execute/"}
    if not os.environ.get("SATCHEL_TEST_CLAMD_ADDR"):
        wanted.discard(("GET", "/addons/{id}/execute/status/"))
    missing = wanted - seen
    assert not missing, sorted(missing)
