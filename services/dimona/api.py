"""HTTP routes of the dimona service."""

from fastapi import APIRouter

router = APIRouter()
