"""pyuploadcare's Django fields (pyuploadcare.dj) against Satchel: a minimal
settings module, a model with FileField, ImageField and FileGroupField in an
in-memory SQLite database, and the form fields cleaning Satchel CDN URLs."""

import uuid

import pytest

django = pytest.importorskip("django")

from django.conf import settings  # noqa: E402

from conftest import PUB_KEY, SATCHEL_URL, SECRET_KEY, make_client, named, png_bytes  # noqa: E402

if not settings.configured:
    settings.configure(
        DEBUG=True,
        SECRET_KEY="pyclient-tests",
        INSTALLED_APPS=["django.contrib.contenttypes"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": ":memory:",
            }
        },
        USE_TZ=True,
        UPLOADCARE={
            "pub_key": PUB_KEY,
            "secret": SECRET_KEY,
            "use_hosted_assets": False,
            "widget_url": "/static/uploadcare/uploadcare.full.min.js",
            "upload_base_url": SATCHEL_URL.rstrip("/"),
            "cdn_base": SATCHEL_URL,
        },
    )
    django.setup()

from django import forms as django_forms  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.db import connection, models  # noqa: E402

from pyuploadcare import File, FileGroup  # noqa: E402
from pyuploadcare.dj import forms as uc_forms  # noqa: E402
from pyuploadcare.dj.models import (  # noqa: E402
    FileField,
    FileGroupField,
    ImageField,
)


class Photo(models.Model):
    title = models.CharField(max_length=50)
    attachment = FileField(blank=True, null=True)
    picture = ImageField(manual_crop="2:3", blank=True, null=True)
    gallery = FileGroupField(blank=True, null=True)

    class Meta:
        app_label = "pyclient"


@pytest.fixture(scope="module", autouse=True)
def photo_table():
    with connection.schema_editor() as editor:
        editor.create_model(Photo)
    yield
    with connection.schema_editor() as editor:
        editor.delete_model(Photo)


@pytest.fixture
def uc():
    return make_client()


def test_model_fields_store_and_save(uc):
    doc = uc.upload(named(b"attached\n", "a.txt"), store=False)
    image = uc.upload(named(png_bytes(), "p.png"), store=False)
    members = [uc.upload(named(b"m%d" % i, f"m{i}.txt"), store=False) for i in range(2)]
    group = uc.create_file_group(members)

    photo = Photo(
        title="one",
        attachment=doc.uuid,
        picture=f"{SATCHEL_URL}{image.uuid}/-/crop/4x6/0,0/",
        gallery=group.cdn_url,
    )
    assert isinstance(photo.attachment, File)
    assert isinstance(photo.gallery, FileGroup)
    # full_clean validates each file through the REST API and stores it.
    photo.full_clean()
    photo.save()

    for f in [doc, image] + members:
        f.update_info()
        assert f.is_stored, f

    row = Photo.objects.get(pk=photo.pk)
    assert row.attachment.cdn_url == f"{SATCHEL_URL}{doc.uuid}/"
    assert row.picture.uuid == image.uuid
    assert row.picture.cdn_url == f"{SATCHEL_URL}{image.uuid}/-/crop/4x6/0,0/"
    assert row.gallery.id == group.id
    assert [f.uuid for f in row.gallery] == [m.uuid for m in members]
    raw = Photo.objects.filter(pk=photo.pk).values_list("attachment", flat=True)[0]
    assert raw == f"{SATCHEL_URL}{doc.uuid}/"


def test_model_field_rejects_unknown_file():
    photo = Photo(title="missing", attachment=str(uuid.uuid4()))
    with pytest.raises(ValidationError) as error:
        photo.full_clean()
    assert "attachment" in error.value.message_dict


class PhotoForm(django_forms.ModelForm):
    class Meta:
        model = Photo
        fields = ["title", "attachment", "picture", "gallery"]


def test_model_form(uc):
    doc = uc.upload(named(b"form\n", "f.txt"), store=False)
    image = uc.upload(named(png_bytes(), "f.png"), store=False)
    group = uc.create_file_group([doc])
    form = PhotoForm(
        data={
            "title": "form",
            "attachment": f"{SATCHEL_URL}{doc.uuid}/",
            "picture": f"{SATCHEL_URL}{image.uuid}/-/resize/4x/",
            "gallery": f"{SATCHEL_URL}{group.id}/",
        }
    )
    assert form.is_valid(), form.errors
    photo = form.save()
    assert photo.attachment.uuid == doc.uuid
    doc.update_info()
    image.update_info()
    assert doc.is_stored and image.is_stored
    assert Photo.objects.get(pk=photo.pk).gallery.id == group.id


def test_form_fields_clean_cdn_urls(uc):
    f = uc.upload(named(png_bytes(), "c.png"), store=True)
    group = uc.create_file_group([f])
    field = uc_forms.FileField()
    assert field.clean(f"{SATCHEL_URL}{f.uuid}/") == f"{SATCHEL_URL}{f.uuid}/"
    assert field.clean(f.uuid) == f"{SATCHEL_URL}{f.uuid}/"
    image_field = uc_forms.ImageField(manual_crop="")
    assert image_field.clean(
        f"{SATCHEL_URL}{f.uuid}/-/preview/"
    ) == f"{SATCHEL_URL}{f.uuid}/-/preview/"
    group_field = uc_forms.FileGroupField()
    assert group_field.clean(group.cdn_url) == f"{SATCHEL_URL}{group.id}/"
    assert group_field.clean(group.id) == f"{SATCHEL_URL}{group.id}/"
    with pytest.raises(ValidationError):
        field.clean("not a file")
    with pytest.raises(ValidationError):
        uc_forms.FileField(required=True).clean("")


def test_widget_renders_satchel_settings():
    html = uc_forms.FileField(required=False).widget.render("attachment", None)
    assert 'role="uploadcare-uploader"' in html
    assert f'data-public-key="{PUB_KEY}"' in html
    assert f'data-url-base="{SATCHEL_URL.rstrip("/")}"' in html
    form = PhotoForm()
    assert "data-crop=\"2:3\"" in str(form["picture"])
    assert "data-multiple" in str(form["gallery"])
    assert "/static/uploadcare/uploadcare.full.min.js" in str(form.media)
