"""HTTP routes of the reports service."""

from fastapi import APIRouter

router = APIRouter()
