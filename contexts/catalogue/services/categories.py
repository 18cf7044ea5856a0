"""The category tree: creation by name path, moves, and the materialized path that keeps them fast."""

from collections.abc import Sequence

from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.text import slugify

from commerce.database import atomic_in
from contexts.catalogue.exceptions import CatalogueError
from contexts.catalogue.models import Category, ListingEntry
from contexts.catalogue.services import listing

PATH_SEPARATOR = ">"


class InvalidCategory(CatalogueError):
    """The category cannot be placed there."""

    code = "invalid_category"


def split_category_path(text: str) -> tuple[str, ...]:
    """``"Apparel > Shirts"`` → ``("Apparel", "Shirts")``; blanks around names are ignored."""
    return tuple(part.strip() for part in text.split(PATH_SEPARATOR))


def _unique_slug(name: str, parent: Category | None) -> str:
    base = slugify(name)[:100] or "category"
    candidates = [base]
    if parent is not None:
        candidates.append(f"{parent.slug}-{base}"[:110])
    for candidate in candidates:
        if not Category.objects.filter(slug=candidate).exists():
            return candidate
    counter = 2
    while Category.objects.filter(slug=f"{candidates[-1]}-{counter}").exists():
        counter += 1
    return f"{candidates[-1]}-{counter}"


def create_category(*, name: str, parent_id: int | None = None, slug: str | None = None) -> Category:
    """A new category under ``parent_id`` (a root when None), its path set in the same transaction."""
    name = name.strip()
    if not name:
        raise InvalidCategory("A category needs a name.")
    with atomic_in("catalogue"):
        parent = Category.objects.get(pk=parent_id) if parent_id is not None else None
        category = Category(name=name, parent=parent, slug=slug or _unique_slug(name, parent))
        category.save()
        _set_path(category)
    return category


def ensure_category_path(names: Sequence[str], *, cache: dict[tuple[str, ...], Category] | None = None) -> Category:
    """The category at ``names`` (root first), creating whatever part of the path is missing."""
    cache = {} if cache is None else cache
    parent: Category | None = None
    for depth in range(1, len(names) + 1):
        key = tuple(names[:depth])
        category = cache.get(key)
        if category is None:
            category = Category.objects.filter(parent=parent, name=names[depth - 1]).first()
            if category is None:
                category = create_category(name=names[depth - 1], parent_id=parent.pk if parent else None)
            cache[key] = category
        parent = category
    assert parent is not None
    return parent


def _set_path(category: Category) -> None:
    parent_path = category.parent.path if category.parent_id else "/"
    category.path = f"{parent_path}{category.pk}/"
    category.depth = category.path.count("/") - 2
    Category.objects.filter(pk=category.pk).update(path=category.path, depth=category.depth)


def save_category(category: Category) -> Category:
    """Save an edited category (the admin's form); a new parent moves its whole subtree along.

    :raises InvalidCategory: the new parent is the category itself or one of its descendants.
    """
    with atomic_in("catalogue"):
        if category.pk is None:
            if not category.slug:
                category.slug = _unique_slug(category.name, category.parent)
            category.save()
            _set_path(category)
            return category
        old = Category.objects.select_for_update().get(pk=category.pk)
        if category.parent_id is not None:
            new_parent = Category.objects.get(pk=category.parent_id)
            if new_parent.path.startswith(old.path):
                raise InvalidCategory("A category cannot move under itself or one of its descendants.")
        category.save()
        if old.parent_id != category.parent_id:
            _set_path(category)
            _move_subtree(old.path, category.path)
        moved = old.parent_id != category.parent_id
        renamed = old.slug != category.slug
        ListingEntry.objects.filter(category_id=category.pk).exclude(category_slug=category.slug).update(
            category_slug=category.slug
        )
        if moved or renamed:
            listing.bump_version()  # listing pages filtered by it (and lookups of its slug) change
    return category


def _move_subtree(old_path: str, new_path: str) -> None:
    """Rewrite the paths of every descendant (and of listing rows under them) in one UPDATE each."""
    depth_change = new_path.count("/") - old_path.count("/")
    tail = Substr("path", len(old_path) + 1)
    Category.objects.filter(path__startswith=old_path).exclude(path=new_path).update(
        path=Concat(Value(new_path), tail), depth=F("depth") + depth_change
    )
    ListingEntry.objects.filter(category_path__startswith=old_path).update(
        category_path=Concat(Value(new_path), Substr("category_path", len(old_path) + 1))
    )
