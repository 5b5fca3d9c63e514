"""HTTP routes of the dmfa service."""

from fastapi import APIRouter

router = APIRouter()
