"""The fake server's seeded dataset: compact records, rendered to wire dicts on demand.

Generation is cheap on purpose (a few RNG draws per task), so a server with thousands of
works per account starts in milliseconds. Every value is derived from the seed and a fixed
clock, so two datasets built with the same arguments render byte-identical responses.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

__all__ = [
    "CONTENT_TYPES",
    "FILE_TYPES",
    "NOW_MS",
    "PASSWORD_MASK",
    "AccountData",
    "Dataset",
    "ElementRecord",
    "TaskRecord",
    "UploadRecord",
    "build_dataset",
    "make_token",
]

#: The dataset's fixed "now" (2025-05-01T00:00:00Z, in ms): newest records are just before it.
NOW_MS = 1_746_057_600_000

#: Content types of works and uploads, as the API spells them.
CONTENT_TYPES = ("video", "image", "audio")

#: File types the download endpoint knows, as the API spells them.
FILE_TYPES = ("MP4", "MP3", "WAV", "PNG")

#: What GET /accounts shows in place of every account's password.
PASSWORD_MASK = "\u2026secured\u2026"

_DAY_MS = 86_400_000
_CDN = "https://s21-kling.klingai.com"
_UPLOAD_CDN = "https://v15-kling.klingai.com"

# (task type, content type, takes an input media, weight)
_TASK_KINDS: tuple[tuple[str, str, bool, int], ...] = (
    ("m2v_txt2video_hq", "video", False, 30),
    ("m2v_img2video_hq", "video", True, 25),
    ("m2v_txt2video", "video", False, 8),
    ("m2v_img2video", "video", True, 7),
    ("mmu_txt2img_aiweb", "image", False, 14),
    ("mmu_img2img_aiweb", "image", True, 6),
    ("m2a_txt2audio", "audio", False, 6),
    ("m2a_video2audio", "audio", True, 4),
)
_KIND_WEIGHTS = tuple(kind[3] for kind in _TASK_KINDS)

_VIDEO_SIZES = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1440, 1440)}
_IMAGE_SIZES = {
    "16:9": (1344, 768),
    "9:16": (768, 1344),
    "1:1": (1024, 1024),
    "4:3": (1152, 864),
    "3:4": (864, 1152),
}
_VIDEO_MODELS = ("1.6", "2.0", "2.1", "2.1-master", "2.5-turbo")
_IMAGE_MODELS = ("1.5", "2.0", "2.1")

_SUBJECTS = (
    "A red fox",
    "An elderly fisherman",
    "A small robot with glowing eyes",
    "Two kids in raincoats",
    "A ballerina",
    "A vintage convertible",
    "A golden retriever puppy",
    "A lone astronaut",
    "A street musician",
    "A paper boat",
    "A snow leopard",
    "A chef in a busy kitchen",
    "A hot air balloon",
    "A koi fish",
    "A skateboarder",
    "An old lighthouse keeper",
)
_ACTIONS = (
    "walks slowly",
    "turns to look at the camera",
    "spins in place",
    "drifts",
    "runs",
    "laughs",
    "pauses and breathes",
    "glides",
    "leaps",
    "waves",
    "stands still as the wind picks up",
    "dances",
)
_SETTINGS = (
    "through a neon-lit alley at night",
    "across a misty pine forest at dawn",
    "on a crowded market street in Marrakech",
    "along a windswept beach at sunset",
    "inside a quiet library full of dust motes",
    "over a frozen lake under the northern lights",
    "in a sunflower field at golden hour",
    "on the deck of a ship in a storm",
    "through falling cherry blossoms",
    "on a rooftop above a rainy city",
    "in a desert canyon at noon",
    "inside a glass greenhouse",
)
_STYLES = (
    "cinematic, shallow depth of field",
    "35mm film grain, warm tones",
    "slow dolly-in, soft lighting",
    "handheld camera, documentary style",
    "Studio Ghibli inspired animation",
    "hyperrealistic, 8k detail",
    "wide aerial shot",
    "moody teal and orange grade",
    "stop-motion claymation look",
    "black and white, high contrast",
)
_NEGATIVE_PROMPTS = ("", "", "", "blurry, low quality", "text, watermark", "distorted hands")
_SOUNDS = (
    "Gentle rain on a tin roof",
    "Crackling campfire",
    "Busy cafe chatter",
    "Waves rolling onto pebbles",
    "Footsteps on fresh snow",
    "A steam train departing",
    "Birdsong in a spring forest",
    "Thunder rolling over hills",
    "A cat purring",
    "Wind through tall grass",
)
_SOUND_DETAILS = (
    "with distant thunder",
    "close-up, stereo",
    "soft and calm",
    "with a low synth drone",
    "recorded at night",
    "fading in slowly",
)
_UPLOAD_WORDS = (
    "sunset",
    "portrait",
    "product",
    "beach",
    "city",
    "dance",
    "logo",
    "forest",
    "interview",
    "voiceover",
    "skyline",
    "kitchen",
)
_ELEMENT_ADJECTIVES = ("Fashion", "Brave", "Quiet", "Neon", "Golden", "Rusty", "Little", "Royal")
_ELEMENT_NOUNS = ("Lady", "Knight", "Fox", "Robot", "Chef", "Dragon", "Pilot", "Cat")
_ELEMENT_DESCRIPTIONS = (
    "Elegant woman in a red dress",
    "Armoured knight with a blue cape",
    "Cartoon fox with a striped scarf",
    "Chrome robot with round eyes",
    "Chef in a white jacket and tall hat",
    "Small green dragon with tiny wings",
    "Pilot in a leather jacket and goggles",
    "Ginger cat with white paws",
)
_ELEMENT_SLOTS = ("side", "back", "topView", "closeUp")
_ELEMENT_TAGS = ((1, "Character"), (2, "Animal"), (3, "Object"), (4, "Scene"), (5, "Style"))
_VOICES = ("Warm Narrator", "Bright Teen", "Calm Elder", "Cheerful Host", "Deep Baritone")
_FIRST_NAMES = ("ava", "liam", "mia", "noah", "zoe", "ethan", "lena", "omar", "yuki", "ines")
_LAST_NAMES = ("chen", "garcia", "novak", "okafor", "smith", "tanaka", "rossi", "khan", "berg")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _hex(value: int, width: int = 16) -> str:
    """A deterministic, random-looking hex string derived from an integer."""
    mixed = (value * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    mixed ^= mixed >> 29
    return f"{mixed:016x}"[:width]


def _media(resource: str, width: int, height: int, duration: int = 0) -> dict[str, Any]:
    return {
        "resource": resource,
        "height": height,
        "width": width,
        "duration": duration,
        "resourceKey": "",
    }


@attrs.frozen
class TaskRecord:
    """One generation task (a history entry): one video or audio work, or 1-4 image works.

    Attributes:
        task_id: the task's numeric ID.
        type: the Kling task type, e.g. ``"m2v_txt2video_hq"``.
        content_type: ``"video"``, ``"image"`` or ``"audio"``.
        create_time: creation time in ms since the epoch.
        first_work_id: the first work's ID; the task's works have consecutive IDs.
        work_count: how many works the task produced.
        prompt: the prompt argument.
        negative_prompt: the negative_prompt argument (often empty).
        aspect_ratio: e.g. ``"16:9"`` (empty for audio).
        duration: seconds of video or audio (0 for images).
        model: the model version argument.
        file_types: the file types a download of any of its works offers.
    """

    task_id: int
    type: str
    content_type: str
    create_time: int
    first_work_id: int
    work_count: int
    prompt: str
    negative_prompt: str
    aspect_ratio: str
    duration: int
    model: str
    file_types: tuple[str, ...]

    @property
    def work_ids(self) -> tuple[int, ...]:
        """The IDs of the task's works, in order."""
        return tuple(range(self.first_work_id, self.first_work_id + self.work_count))


@attrs.frozen
class UploadRecord:
    """One uploaded asset.

    Attributes:
        id: the asset ID, a large numeric string.
        name: the file name (keyword-searchable through ``fileName``).
        content_type: ``"video"``, ``"image"`` or ``"audio"``.
        create_time: upload time in ms since the epoch.
        width: pixels (0 for audio).
        height: pixels (0 for audio).
        duration: milliseconds (0 for images).
        size: the bytes received, for a file uploaded through POST /assets (else 0).
    """

    id: str
    name: str
    content_type: str
    create_time: int
    width: int
    height: int
    duration: int
    size: int = 0


@attrs.frozen
class ElementRecord:
    """One element (a reusable character, object or scene).

    Attributes:
        id: the element ID, e.g. ``"u_123456789012345"``.
        name: display name.
        type: ``"IMAGE"`` or ``"VIDEO"``.
        description: free text.
        slots: slot keys of the secondary reference images.
        tags: ``(tagId, name)`` pairs.
        voice: ``(voiceId, name)`` when the element has a voice, else None.
        current_version: the element's version number.
        create_time: ms since the epoch.
        update_time: ms since the epoch.
        favored: whether it is marked as a favourite.
    """

    id: str
    name: str
    type: str
    description: str
    slots: tuple[str, ...]
    tags: tuple[tuple[int, str], ...]
    voice: tuple[int, str] | None
    current_version: int
    create_time: int
    update_time: int
    favored: bool


@attrs.define(eq=False)
class AccountData:
    """Everything one Kling account holds. Lists are newest first (the API's default order).

    Attributes:
        index: position of the account in the dataset.
        email: the account's email, the ``email`` query parameter.
        user_id: the Kling user ID found in records.
        tasks: history entries, newest first.
        uploads: the seeded uploaded assets, newest first, including any deleted through the
            API.
        elements: elements, newest first.
        deleted_upload_ids: IDs of uploads deleted through ``DELETE /assets/uploaded``.
        deleted_task_ids: IDs of tasks deleted through ``DELETE /tasks/{task_id}``: gone from
            every listing, with their works.
        added_uploads: assets uploaded through ``POST /assets``, oldest first (all newer
            than the seeded ones).

    What GET /accounts reports (`max_jobs`, the session, the balance) is derived from
    `user_id` and `index`, so it follows the seed without drawing from the generator that
    makes the records.
    """

    index: int
    email: str
    user_id: int
    tasks: tuple[TaskRecord, ...]
    uploads: tuple[UploadRecord, ...]
    elements: tuple[ElementRecord, ...]
    deleted_upload_ids: set[str] = attrs.field(factory=set)
    deleted_task_ids: set[int] = attrs.field(factory=set)
    added_uploads: list[UploadRecord] = attrs.field(factory=list)
    _by_type: dict[str, tuple[TaskRecord, ...]] = attrs.field(init=False, repr=False)
    _works: dict[int, TaskRecord] = attrs.field(init=False, repr=False)
    _tasks_by_id: dict[int, TaskRecord] = attrs.field(init=False, repr=False)
    _uploads_by_id: dict[str, UploadRecord] = attrs.field(init=False, repr=False)
    _elements_by_id: dict[str, ElementRecord] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._by_type = {
            kind: tuple(task for task in self.tasks if task.content_type == kind)
            for kind in CONTENT_TYPES
        }
        self._works = {
            work_id: task
            for task in self.tasks
            for work_id in range(task.first_work_id, task.first_work_id + task.work_count)
        }
        self._tasks_by_id = {task.task_id: task for task in self.tasks}
        self._uploads_by_id = {upload.id: upload for upload in self.uploads}
        self._elements_by_id = {element.id: element for element in self.elements}

    @property
    def work_ids(self) -> tuple[int, ...]:
        """Every work ID of the account, newest task first."""
        return tuple(self._works)

    @property
    def live_uploads(self) -> tuple[UploadRecord, ...]:
        """Uploads not deleted through the API, newest first (uploads through it included)."""
        uploads = self.uploads
        if self.added_uploads:
            uploads = (*reversed(self.added_uploads), *uploads)
        if not self.deleted_upload_ids:
            return uploads
        return tuple(u for u in uploads if u.id not in self.deleted_upload_ids)

    def add_upload(self, content_type: str, extension: str, size: int) -> UploadRecord:
        """Store a file uploaded through POST /assets: newer than every other upload.

        Its ID follows the newest upload's, its time is one second after it (and after the
        dataset's "now"), and its name is a random-looking hex stem with ``extension``.
        Images are 1024x1024, videos 1280x720 and 5 s, audio 10 s (the fake does not decode
        the file).
        """
        newest = self.added_uploads[-1] if self.added_uploads else next(iter(self.uploads), None)
        if newest is None:
            upload_id = 869_000_000_000_000_000 + self.index * 10_000_000_000_000_000
            create_time = NOW_MS
        else:
            upload_id = int(newest.id) + 1_000
            create_time = max(NOW_MS, newest.create_time) + 1_000
        width, height, duration = {
            "image": (1024, 1024, 0),
            "video": (1280, 720, 5_000),
            "audio": (0, 0, 10_000),
        }[content_type]
        upload = UploadRecord(
            str(upload_id),
            f"{_hex(upload_id, 15)}.{extension}",
            content_type,
            create_time,
            width,
            height,
            duration,
            size,
        )
        self.added_uploads.append(upload)
        self._uploads_by_id[upload.id] = upload
        return upload

    def forget_added_uploads(self) -> None:
        """Drop every upload made through POST /assets."""
        for upload in self.added_uploads:
            del self._uploads_by_id[upload.id]
        self.added_uploads.clear()

    def tasks_of(self, content_type: str | None) -> tuple[TaskRecord, ...]:
        """Tasks of one content type (all tasks for None), newest first, none deleted."""
        tasks = self.tasks if content_type is None else self._by_type[content_type]
        if not self.deleted_task_ids:
            return tasks
        return tuple(task for task in tasks if task.task_id not in self.deleted_task_ids)

    def task(self, task_id: int) -> TaskRecord | None:
        """The task with this ID, or None when the account has none (or it was deleted)."""
        task = self._tasks_by_id.get(task_id)
        return None if task is None or task_id in self.deleted_task_ids else task

    def task_of_work(self, work_id: int) -> TaskRecord | None:
        """The task that produced ``work_id``, or None when the account has no such work.

        The works of a deleted task are gone.
        """
        task = self._works.get(work_id)
        return None if task is None or task.task_id in self.deleted_task_ids else task

    def upload(self, upload_id: str) -> UploadRecord | None:
        """The upload with this ID (deleted or not), or None."""
        return self._uploads_by_id.get(upload_id)

    def element(self, element_id: str) -> ElementRecord | None:
        """The element with this ID, or None."""
        return self._elements_by_id.get(element_id)

    @property
    def max_jobs(self) -> int:
        """How many generations useapi.net runs on the account at once: 1 to 10."""
        return 1 + self.user_id % 10

    @property
    def session_expire_time(self) -> int:
        """When the account's Kling session expires, in seconds since the epoch (whole hours)."""
        return NOW_MS // 1000 + (3 * 24 + self.user_id % (25 * 24)) * 3_600

    @property
    def points_grants(self) -> tuple[dict[str, Any], ...]:
        """The credit grants of the account's balance, as GET /accounts/{email} sends them.

        The first is the plan grant GET /assets shows in ``userPoints``; after it come
        ``(index + 1) % 3`` top-ups (so the first of three accounts has one, the second two,
        the third none), each partly spent.
        """
        top_ups = [
            {
                "orderId": str(920_000_000 + self.user_id + n),
                "type": "purchase",
                "amount": 10_000 * (n + 1),
                "balance": 10_000 * (n + 1) - (self.user_id // 10 + n) % 5 * 1_000,
                "startTime": NOW_MS - (n + 2) * 7 * _DAY_MS,
                "endTime": NOW_MS + (365 - (n + 2) * 7) * _DAY_MS,
            }
            for n in range((self.index + 1) % 3)
        ]
        return (self._plan_grant(), *top_ups)

    def render_account(self, *, balance: bool) -> dict[str, Any]:
        """The account as GET /accounts lists it; with ``balance``, as GET /accounts/{email} does.

        The balance's ``total`` is the sum of its grants' ``balance``.
        """
        expires = self.session_expire_time
        body: dict[str, Any] = {
            "email": self.email,
            "session": {
                "userId": str(self.user_id),
                "ExpireTime": expires,
                "ExpireTimeUTC": datetime.fromtimestamp(expires, timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z"
                ),
            },
            "maxJobs": self.max_jobs,
            "password": PASSWORD_MASK,
        }
        if balance:
            grants = self.points_grants
            body["balance"] = {
                "points": list(grants),
                "tickets": self._ticket_grants(),
                "nextApplyTime": grants[0]["endTime"],
                "total": sum(grant["balance"] for grant in grants),
            }
        return body

    # -- rendering to the wire shapes -------------------------------------------------------

    def render_history_entry(self, task: TaskRecord) -> dict[str, Any]:
        """The ``history[]`` entry of ``task``, as GET /assets returns it."""
        task_info = _task_info(task)
        works = [self._render_work(task, task_info, item) for item in range(task.work_count)]
        update_time = task.create_time + 40_000 + (task.task_id % 300) * 1000
        return {
            "works": works,
            "task": {
                "id": task.task_id,
                "userId": self.user_id,
                "type": task.type,
                "scene": "NORMAL_CREATION",
                "status": 99,
                "taskInfo": task_info,
                "favored": False,
                "deleted": False,
                "viewed": True,
                "createTime": task.create_time,
                "updateTime": update_time,
                "viewTime": update_time + 5_000 + (task.task_id % 97) * 1000,
            },
            "etaTime": 0,
            "etaTimeOverSla": False,
            "queuingEtaTime": 0,
            "originEtaTime": 0,
            "originQueuingEtaTime": 0,
            "currentTimestamp": NOW_MS,
        }

    def _render_work(
        self, task: TaskRecord, task_info: dict[str, Any], item: int
    ) -> dict[str, Any]:
        work_id = task.first_work_id + item
        key = _hex(work_id)
        folder = f"{_CDN}/bs2/upload-ylab-stunt/{self.user_id}/{key}"
        if task.content_type == "video":
            width, height = _VIDEO_SIZES[task.aspect_ratio]
            duration = task.duration * 1000 + 41
            resource = _media(f"{folder}/{work_id}.mp4", width, height, duration)
            cover = _media(f"{folder}/{work_id}-cover.jpg", width, height)
        elif task.content_type == "image":
            width, height = _IMAGE_SIZES[task.aspect_ratio]
            resource = _media(f"{folder}/{work_id}.png", width, height)
            cover = _media(f"{folder}/{work_id}-thumb.jpg", width, height)
        else:
            resource = _media(f"{folder}/{work_id}.mp3", 0, 0, task.duration * 1000 + 17)
            cover = _media(f"{folder}/{work_id}-wave.jpg", 512, 512)
        create_time = task.create_time + 16 + item
        return {
            "workId": work_id,
            "workItemId": item,
            "taskId": task.task_id,
            "userId": self.user_id,
            "type": task.type,
            "status": 99,
            "contentType": task.content_type,
            "resource": resource,
            "cover": cover,
            "starNum": 0,
            "cloneCount": 0,
            "reportNum": 0,
            "createTime": create_time,
            "taskInfo": task_info,
            "selfAttitude": "unknown",
            "selfComment": {"rate": 0, "tags": [], "content": "", "prompts": []},
            "favored": work_id % 19 == 0,
            "starred": False,
            "publishStatus": "unpublished",
            "deleted": False,
            "publishTime": 0,
            "submitTime": create_time,
            "lipSyncStatus": 99,
            "downloadInfo": {
                "fileTypes": [{"type": kind, "watermark": True} for kind in task.file_types]
            },
            "allowPublish": task.content_type != "audio",
        }

    def render_upload(self, upload: UploadRecord) -> dict[str, Any]:
        """The ``uploadAssetsList[]`` item of ``upload``."""
        folder = f"{_UPLOAD_CDN}/bs2/upload-kling-api/{self.user_id}"
        if upload.content_type == "video":
            resource = _media(
                f"{folder}/{upload.name}", upload.width, upload.height, upload.duration
            )
            cover = _media(f"{folder}/{_hex(int(upload.id))}.jpg", upload.width, upload.height)
        elif upload.content_type == "image":
            resource = _media(f"{folder}/{upload.name}", upload.width, upload.height)
            cover = _media("", 1, 1)
        else:
            resource = _media(f"{folder}/{upload.name}", 0, 0, upload.duration)
            cover = _media("", 1, 1)
        return {
            "id": upload.id,
            "name": upload.name,
            "userId": self.user_id,
            "contentType": upload.content_type,
            "resource": resource,
            "cover": cover,
            "createTime": upload.create_time,
            "updateTime": upload.create_time,
            "favored": int(upload.id) % 11 == 0,
            "extraInfo": "{}",
            "entrance": "",
        }

    def render_element(self, element: ElementRecord) -> dict[str, Any]:
        """The object GET /elements/{elementId} returns for ``element``."""
        folder = f"{_CDN}/ai-platform/elements/{self.user_id}/{element.id}"
        cover_url = f"{folder}/cover.jpg"
        cover = {
            "resource": cover_url,
            "width": 768,
            "height": 1365,
            "resourceKey": "cover",
            "cover": True,
            "slotKey": "",
        }
        voice: dict[str, Any] | None = None
        if element.voice is not None:
            voice_id, voice_name = element.voice
            voice = {
                "id": voice_id,
                "name": voice_name,
                "official": voice_id % 2 == 0,
                "resource": {"resource": f"{folder}/voice-{voice_id}.mp3", "duration": 6120},
            }
        resources: list[dict[str, Any]] = [dict(cover)]
        if element.type == "VIDEO":
            video: dict[str, Any] = {
                "resource": f"{folder}/reference.mp4",
                "width": 720,
                "height": 1280,
                "resourceKey": "video",
                "cover": False,
                "slotKey": "",
            }
            if voice is not None:
                video["voice"] = voice
            resources.append(video)
        resources.extend(
            {
                "resource": f"{folder}/{slot}.png",
                "width": 768,
                "height": 1365,
                "resourceKey": "secondary",
                "cover": False,
                "slotKey": slot,
            }
            for slot in element.slots
        )
        body: dict[str, Any] = {
            "id": element.id,
            "name": element.name,
            "userId": self.user_id,
            "type": element.type,
            "description": element.description,
            "cover": cover,
            "resources": resources,
            "tagList": [{"tagId": tag_id, "name": name} for tag_id, name in element.tags],
        }
        if voice is not None:
            body["voice"] = voice
        body.update(
            {
                "currentVersion": element.current_version,
                "createTime": element.create_time,
                "updateTime": element.update_time,
                "favored": element.favored,
                "official": False,
            }
        )
        return body

    def render_assets_page(self, tasks: Sequence[TaskRecord]) -> dict[str, Any]:
        """A whole GET /assets body holding ``tasks`` as its history."""
        seed = self.user_id
        plan = self._plan_grant()
        return {
            "limitations": [
                {"type": "mmu_txt2img_aiweb", "remaining": 10_000 - seed % 500, "limit": 10_000},
                {"type": "m2v_txt2video_hq", "remaining": 10_000 - seed % 300, "limit": 10_000},
                {"type": "m2v_img2video_hq", "remaining": 10_000 - seed % 200, "limit": 10_000},
            ],
            "history": [self.render_history_entry(task) for task in tasks],
            "userPoints": {"points": [plan], "total": plan["balance"]},
            "userTickets": {"ticket": self._ticket_grants()},
        }

    def _plan_grant(self) -> dict[str, Any]:
        """The account's monthly plan grant of credits, partly spent."""
        used = (self.user_id % 40) * 3_500
        return {
            "orderId": str(900_000_000 + self.user_id),
            "type": "plan",
            "amount": 300_000,
            "balance": 300_000 - used,
            "startTime": NOW_MS - 20 * _DAY_MS,
            "endTime": NOW_MS + 11 * _DAY_MS,
        }

    def _ticket_grants(self) -> list[dict[str, Any]]:
        """The account's tickets, one grant per kind."""
        return [
            {
                "orderId": str(910_000_000 + self.user_id + n),
                "type": kind,
                "packageType": "reward",
                "amount": n + 1,
                "balance": n + 1,
                "startTime": NOW_MS - 21 * _DAY_MS,
                "endTime": NOW_MS + 10 * _DAY_MS,
            }
            for n, kind in enumerate(("priority", "extend", "hq_5s"))
        ]


def _task_info(task: TaskRecord) -> dict[str, Any]:
    inputs: list[dict[str, Any]] = []
    if task.type in ("m2v_img2video_hq", "m2v_img2video", "mmu_img2img_aiweb"):
        inputs.append(_input(f"{_CDN}/bs2/upload-kling-api/{_hex(task.task_id)}/input.jpg"))
    elif task.type == "m2a_video2audio":
        inputs.append(_input(f"{_CDN}/bs2/upload-kling-api/{_hex(task.task_id)}/input.mp4"))
    arguments = [{"name": "prompt", "value": task.prompt}]
    if task.content_type == "video":
        arguments += [
            {"name": "negative_prompt", "value": task.negative_prompt},
            {"name": "duration", "value": str(task.duration)},
            {"name": "aspect_ratio", "value": task.aspect_ratio},
            {"name": "kling_version", "value": task.model},
        ]
    elif task.content_type == "image":
        arguments += [
            {"name": "aspect_ratio", "value": task.aspect_ratio},
            {"name": "imageCount", "value": str(task.work_count)},
            {"name": "kolors_version", "value": task.model},
        ]
    else:
        arguments.append({"name": "duration", "value": str(task.duration)})
    return {
        "type": task.type,
        "inputs": inputs,
        "arguments": arguments,
        "extraArgs": {},
        "callbackPayloads": [],
        "scene": "NORMAL_CREATION",
    }


def _input(url: str) -> dict[str, Any]:
    return {
        "name": "input",
        "inputType": "URL",
        "token": None,
        "blobStorage": None,
        "url": url,
        "cover": None,
        "fromWorkId": None,
        "fromUploadId": None,
    }


@attrs.frozen
class Dataset:
    """The seeded accounts a `FakeKlingServer` serves: ``fake.data``.

    Attributes:
        accounts: one `AccountData` per account, in order (the first is the one
            `FakeKlingServer.client` uses).
        seed: the seed everything was generated from.

    Example::

        account = fake.data.accounts[0]
        newest = account.tasks[0]
        assert fake.data.find_work(newest.first_work_id) == (account, newest)
    """

    accounts: tuple[AccountData, ...]
    seed: int

    @property
    def emails(self) -> tuple[str, ...]:
        """The accounts' emails, in order."""
        return tuple(account.email for account in self.accounts)

    def account(self, email: str) -> AccountData:
        """The account with this email (case-insensitive); KeyError when there is none."""
        wanted = email.strip().lower()
        for account in self.accounts:
            if account.email == wanted:
                return account
        raise KeyError(email)

    def find_work(self, work_id: int) -> tuple[AccountData, TaskRecord] | None:
        """The account and task holding ``work_id``, or None."""
        for account in self.accounts:
            task = account.task_of_work(work_id)
            if task is not None:
                return account, task
        return None

    def find_upload(self, upload_id: str) -> tuple[AccountData, UploadRecord] | None:
        """The account and upload with this ID (deleted or not), or None."""
        for account in self.accounts:
            upload = account.upload(upload_id)
            if upload is not None:
                return account, upload
        return None

    def find_element(self, element_id: str) -> tuple[AccountData, ElementRecord] | None:
        """The account and element with this ID, or None."""
        for account in self.accounts:
            element = account.element(element_id)
            if element is not None:
                return account, element
        return None

    def __iter__(self) -> Iterator[AccountData]:
        return iter(self.accounts)


def make_token(seed: int) -> str:
    """A deterministic API token shaped like the real ones: ``user:<digits>-<alphanumerics>``."""
    rng = random.Random(f"kling-fake-token:{seed}")
    digits = rng.randrange(1_000, 99_999)
    return f"user:{digits}-" + "".join(rng.choice(_ALNUM) for _ in range(20))


def build_dataset(
    *,
    accounts: int,
    works_per_account: int,
    uploads_per_account: int,
    elements_per_account: int,
    seed: int,
) -> Dataset:
    """Generate the dataset; the same arguments always give the same data."""
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    for name, value in (
        ("works_per_account", works_per_account),
        ("uploads_per_account", uploads_per_account),
        ("elements_per_account", elements_per_account),
    ):
        if not 0 <= value <= 100_000:
            raise ValueError(f"{name} must be between 0 and 100000")
    built = []
    for index in range(accounts):
        rng = random.Random(f"kling-fake:{seed}:{index}")
        email = f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_LAST_NAMES)}{index + 1}@example.com"
        user_id = rng.randrange(10_000_000, 99_999_999)
        built.append(
            AccountData(
                index=index,
                email=email,
                user_id=user_id,
                tasks=_make_tasks(rng, index, works_per_account),
                uploads=_make_uploads(rng, index, uploads_per_account),
                elements=_make_elements(rng, index, elements_per_account),
            )
        )
    return Dataset(accounts=tuple(built), seed=seed)


def _make_tasks(rng: random.Random, index: int, works: int) -> tuple[TaskRecord, ...]:
    tasks: list[TaskRecord] = []
    # Each account draws IDs from its own range, newest (largest) first, so IDs are unique
    # across accounts and grow with creation time like the real ones.
    task_id = 310_000_000 + index * 100_000_000 + works * 600
    work_id = 320_000_000 + index * 100_000_000 + works * 600
    when = NOW_MS - rng.randrange(60_000, 3_600_000)
    remaining = works
    kinds = rng.choices(_TASK_KINDS, weights=_KIND_WEIGHTS, k=works)
    for task_type, content_type, _has_input, _weight in kinds:
        if remaining <= 0:
            break
        if content_type == "video":
            count = 1
            aspect = rng.choice(("16:9", "16:9", "9:16", "1:1"))
            duration = rng.choice((5, 5, 10))
            model = rng.choice(_VIDEO_MODELS)
            negative = rng.choice(_NEGATIVE_PROMPTS)
            prompt = (
                f"{rng.choice(_SUBJECTS)} {rng.choice(_ACTIONS)} "
                f"{rng.choice(_SETTINGS)}, {rng.choice(_STYLES)}"
            )
            file_types: tuple[str, ...] = ("MP4", "MP3", "WAV") if rng.random() < 0.3 else ("MP4",)
        elif content_type == "image":
            count = min(rng.choice((1, 1, 2, 4)), remaining)
            aspect = rng.choice(tuple(_IMAGE_SIZES))
            duration = 0
            model = rng.choice(_IMAGE_MODELS)
            negative = ""
            prompt = f"{rng.choice(_SUBJECTS)} {rng.choice(_SETTINGS)}, {rng.choice(_STYLES)}"
            file_types = ("PNG",)
        else:
            count = 1
            aspect = ""
            duration = rng.randrange(3, 31)
            model = "1.0"
            negative = ""
            prompt = f"{rng.choice(_SOUNDS)}, {rng.choice(_SOUND_DETAILS)}"
            file_types = ("MP3", "WAV")
        work_id -= count + rng.randrange(0, 40)
        task_id -= 1 + rng.randrange(0, 40)
        tasks.append(
            TaskRecord(
                task_id=task_id,
                type=task_type,
                content_type=content_type,
                create_time=when,
                first_work_id=work_id,
                work_count=count,
                prompt=prompt,
                negative_prompt=negative,
                aspect_ratio=aspect,
                duration=duration,
                model=model,
                file_types=file_types,
            )
        )
        remaining -= count
        when -= rng.randrange(20_000, 7_200_000)
    return tuple(tasks)


def _make_uploads(rng: random.Random, index: int, count: int) -> tuple[UploadRecord, ...]:
    uploads: list[UploadRecord] = []
    upload_id = 869_000_000_000_000_000 + index * 10_000_000_000_000_000 + count * 10_000_000
    when = NOW_MS - rng.randrange(60_000, 7_200_000)
    for _ in range(count):
        upload_id -= rng.randrange(1_000, 9_000_000)
        word = rng.choice(_UPLOAD_WORDS)
        stem = f"{word}_{_hex(upload_id, 8)}"
        draw = rng.random()
        if draw < 0.4:
            width, height = rng.choice(((1280, 720), (720, 1280), (1920, 1080), (1080, 1080)))
            duration = rng.randrange(2_000, 30_000)
            upload = UploadRecord(
                str(upload_id), f"{stem}.mp4", "video", when, width, height, duration
            )
        elif draw < 0.85:
            width, height = rng.choice(((1024, 1024), (768, 1344), (1344, 768), (1080, 1440)))
            ext = rng.choice(("png", "jpg"))
            upload = UploadRecord(str(upload_id), f"{stem}.{ext}", "image", when, width, height, 0)
        else:
            ext = rng.choice(("mp3", "wav"))
            upload = UploadRecord(
                str(upload_id), f"{stem}.{ext}", "audio", when, 0, 0, rng.randrange(3_000, 60_000)
            )
        uploads.append(upload)
        when -= rng.randrange(30_000, 86_400_000)
    return tuple(uploads)


def _make_elements(rng: random.Random, index: int, count: int) -> tuple[ElementRecord, ...]:
    elements: list[ElementRecord] = []
    when = NOW_MS - rng.randrange(3_600_000, 86_400_000)
    seen: set[str] = set()
    while len(elements) < count:
        element_id = f"u_{index + 1}{rng.randrange(10**13, 10**14)}"
        if element_id in seen:
            continue
        seen.add(element_id)
        pick = rng.randrange(len(_ELEMENT_NOUNS))
        suffix = "".join(rng.choice(_ALNUM[26:]) for _ in range(5))
        kind = "VIDEO" if rng.random() < 0.3 else "IMAGE"
        slots = tuple(slot for slot in _ELEMENT_SLOTS if rng.random() < 0.6)
        tags = tuple(tag for tag in _ELEMENT_TAGS if rng.random() < 0.3)
        voice = None
        if rng.random() < 0.4:
            voice = (rng.randrange(100, 999), rng.choice(_VOICES))
        versions = rng.randrange(1, 4)
        elements.append(
            ElementRecord(
                id=element_id,
                name=f"{rng.choice(_ELEMENT_ADJECTIVES)}{_ELEMENT_NOUNS[pick]} {suffix}",
                type=kind,
                description=_ELEMENT_DESCRIPTIONS[pick],
                slots=slots,
                tags=tags,
                voice=voice,
                current_version=versions,
                create_time=when,
                update_time=when + (versions - 1) * 3_600_000,
                favored=rng.random() < 0.2,
            )
        )
        when -= rng.randrange(3_600_000, 10 * 86_400_000)
    return tuple(elements)
